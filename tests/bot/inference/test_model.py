"""Loading the model: its weights are the process's own memory, not pages of the file they came from,
and the file's pages are let go while they are copied, not after."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.inference.model import _file_mappings

# A fresh process loads the model and reports its resident memory around the load: the weights'
# bytes, the peak's growth and the growth that stayed.
PEAK_PROBE = """
import json, sys
from pathlib import Path
from bot.inference.model import load_model

def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) * 1024

import torch, transformers  # the libraries' own memory is not the load's
before = status("VmRSS")
model = load_model(None, Path(sys.argv[1]), dtype=sys.argv[2]).model
weights = sum(p.numel() * p.element_size() for p in model.parameters())
print(json.dumps({"weights": weights, "peak_growth": status("VmHWM") - before, "kept": status("VmRSS") - before}))
"""


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="reads Linux's /proc/self/maps")
def test_loaded_weights_are_copies_that_merging_and_fusing_can_free(loaded_model):
    mapped = _file_mappings(".safetensors")
    inside = [
        name
        for name, p in loaded_model.model.named_parameters()
        if any(start <= p.data_ptr() < end for start, end in mapped)
    ]
    assert inside == [], f"{len(inside)} weights still point into the safetensors file, e.g. {inside[:3]}"
    assert sum(p.numel() for p in loaded_model.model.parameters()) > 100_000_000


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads Linux's /proc/self/status")
@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])  # the cache is float32: bfloat16 converts while copying
def test_loading_never_holds_the_weights_twice(dtype):
    from tests.conftest import MODEL_CACHE, REPO

    run = subprocess.run(
        [sys.executable, "-c", PEAK_PROBE, str(MODEL_CACHE), dtype],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
        cwd=REPO,
    )
    figures = json.loads(run.stdout.strip().splitlines()[-1])
    assert figures["kept"] >= 0.9 * figures["weights"]  # the probe sees the load
    # copied while the file's pages stayed mapped, the peak rose a whole copy of the weights above what
    # the load keeps; let go page by page, the peak is what stays
    assert figures["peak_growth"] - figures["kept"] <= 0.2 * figures["weights"], figures
