"""Loading the model: its weights are the process's own memory, not pages of the file they came from."""

from pathlib import Path

import pytest


def _file_mappings(suffix: str) -> list[tuple[int, int]]:
    ranges = []
    for line in Path("/proc/self/maps").read_text().splitlines():
        fields = line.split()
        if len(fields) >= 6 and fields[5].endswith(suffix):
            start, end = (int(x, 16) for x in fields[0].split("-"))
            ranges.append((start, end))
    return ranges


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="reads Linux's /proc/self/maps")
def test_loaded_weights_are_copies_that_merging_and_fusing_can_free(loaded_model):
    mapped = _file_mappings(".safetensors")
    inside = [name for name, p in loaded_model.model.named_parameters()
              if any(start <= p.data_ptr() < end for start, end in mapped)]
    assert inside == [], f"{len(inside)} weights still point into the safetensors file, e.g. {inside[:3]}"
    assert sum(p.numel() for p in loaded_model.model.parameters()) > 100_000_000
