"""The chat model as another inference engine takes it: a Hugging Face folder that vLLM, TGI and llama.cpp's
`convert_hf_to_gguf.py` read, with the LoRA adapter merged into the weights or kept beside them.

What an engine reads of a folder is narrower than what transformers writes, so the files are made plain:
the chat template sits in `tokenizer_config.json` (older readers know no `chat_template.jinja`), the
tokenizer class is one every transformers version knows, `config.json` also states the RoPE base and the
weight type under their older keys (a reader that knows only `rope_theta` would otherwise take its
default, a different model), and `generation_config.json` lists every token that ends a turn, so the
engine stops where shopbot's own generators stop.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

from bot.inference.generator import end_of_turn_ids
from bot.inference.model import load_model, resolve_model_dir
from bot.settings import Settings

MANIFEST = "shopbot-export.json"
ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors")
DTYPES = ("float32", "bfloat16")
# keys transformers writes for itself that only confuse other readers
_LOCAL_TOKENIZER_KEYS = ("is_local", "local_files_only", "backend")


class ExportError(ValueError):
    """The export cannot be written as asked; the text says what to change."""


def export_model(
    settings: Settings,
    out: Path,
    *,
    merge: bool = True,
    dtype: str = "float32",
    log: Callable[[str], None] = lambda _: None,
) -> dict:
    """Write the settings' chat model to `out` and return what was written (also saved as shopbot-export.json).

    Merged: one model folder, the adapter folded into its weights. Unmerged: `out/base` (the model without
    the adapter) and `out/adapter` (the peft adapter as trained), for an engine that applies LoRA itself
    and can serve several shops' adapters over one base. The folder is built beside `out` and renamed into
    place at the end, so a failed export leaves nothing that looks complete."""
    if dtype not in DTYPES:
        raise ExportError(f"dtype {dtype!r}: choose one of {', '.join(DTYPES)}")
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ExportError(f"{out} already exists and is not an empty folder: choose a new folder")
    adapter = settings.adapter_path if settings.use_adapter else None
    if adapter and not (Path(adapter) / "adapter_config.json").is_file():
        raise ExportError(f"adapter_path {adapter} holds no adapter_config.json: point it at a peft LoRA folder")
    if not merge and not adapter:
        raise ExportError("--no-merge keeps the adapter apart, but no adapter is set (adapter_path, use_adapter)")

    source = resolve_model_dir(settings.model_path, settings.model_cache_dir)
    staging = out.parent / f".{out.name}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        if merge:
            log(f"merging the adapter {adapter} into {source}" if adapter else f"writing {source} (no adapter)")
            _write_model(
                load_model(
                    str(source), settings.model_cache_dir, adapter_path=adapter, dtype=dtype, merge_adapter=True
                ),
                staging,
            )
            files = sorted(p.name for p in staging.iterdir())
        else:
            log(f"writing the base model {source} and the adapter {adapter} apart")
            _write_model(load_model(str(source), settings.model_cache_dir, dtype=dtype), staging / "base")
            _write_adapter(Path(adapter), staging / "adapter", out / "base")
            files = sorted(str(p.relative_to(staging)) for p in staging.rglob("*") if p.is_file())
        manifest = {
            "layout": "merged" if merge else "base+adapter",
            "base_model": str(source),
            "adapter": str(adapter) if adapter else None,
            "dtype": dtype,
            "files": files,
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        if out.exists():
            out.rmdir()
        out.parent.mkdir(parents=True, exist_ok=True)
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return manifest


def _write_model(loaded, folder: Path) -> None:
    model, tokenizer = loaded.model, loaded.tokenizer
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    _plain_tokenizer_config(folder, tokenizer)
    _plain_model_config(folder, model)
    _generation_config(folder, model, tokenizer)


def _plain_tokenizer_config(folder: Path, tokenizer) -> None:
    path = folder / "tokenizer_config.json"
    config = json.loads(path.read_text(encoding="utf-8"))
    for key in _LOCAL_TOKENIZER_KEYS:
        config.pop(key, None)
    config["tokenizer_class"] = "PreTrainedTokenizerFast"  # the fast tokenizer's name in every version
    config["chat_template"] = tokenizer.chat_template
    path.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _plain_model_config(folder: Path, model) -> None:
    path = folder / "config.json"
    config = json.loads(path.read_text(encoding="utf-8"))
    config.pop("_model_name_or_path", None)
    rope = config.get("rope_parameters") or {}
    if "rope_theta" in rope and "rope_theta" not in config:
        config["rope_theta"] = rope["rope_theta"]
    if "dtype" in config and "torch_dtype" not in config:
        config["torch_dtype"] = config["dtype"]
    path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")


def _generation_config(folder: Path, model, tokenizer) -> None:
    stop = end_of_turn_ids(model.config, tokenizer)
    config = {
        "bos_token_id": tokenizer.bos_token_id if tokenizer.bos_token_id is not None else model.config.bos_token_id,
        "eos_token_id": stop,
        "pad_token_id": tokenizer.pad_token_id if tokenizer.pad_token_id is not None else stop[0],
    }
    (folder / "generation_config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")


def _write_adapter(adapter: Path, folder: Path, base: Path) -> None:
    """The adapter's own files, its config naming the exported base (peft's AutoPeftModel loads it from there)."""
    folder.mkdir(parents=True)
    for name in ADAPTER_FILES:
        if not (adapter / name).is_file():
            raise ExportError(f"the adapter folder {adapter} has no {name}")
        shutil.copyfile(adapter / name, folder / name)
    path = folder / "adapter_config.json"
    config = json.loads(path.read_text(encoding="utf-8"))
    config["base_model_name_or_path"] = str(base.resolve())
    config["inference_mode"] = True
    path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
