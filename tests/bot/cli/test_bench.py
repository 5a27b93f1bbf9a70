"""`shopbot bench` end to end at tiny scale: a real `shopbot serve --demo` subprocess, real WebSockets, the real model.

The figures themselves are not asserted (speed belongs in benchmark output, not in tests); what is
asserted is that every section measured something real, that the naive reference answered the very
prompts the server built, and that the server subprocess is gone afterwards.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bot.cli.bench import BenchError, BenchOptions, ServerProcess, parse_env, parse_levels, run_bench
from tests.conftest import MODEL_CACHE, add_tiny_shop

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def tiny_shop_env(tmp_path_factory, embedder) -> dict[str, str]:
    from retrieval.retriever import Retriever
    from retrieval.store import Store

    folder = tmp_path_factory.mktemp("bench_shop")
    store = Store(f"sqlite:///{folder / 'shop.db'}")
    store.create_schema()
    add_tiny_shop(store)
    Retriever.open(store, embedder, folder / "index")
    return {
        "SHOPBOT_DATA_DIR": str(folder),
        "SHOPBOT_MODEL_CACHE_DIR": str(MODEL_CACHE),
        "SHOPBOT_USE_ADAPTER": "false",
        "SHOPBOT_TOP_K_PRODUCTS": "2",
        "SHOPBOT_TOP_K_POLICIES": "1",
        "SHOPBOT_SHOP_NOW": "2026-11-20T12:00:00",
    }


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "zombie" not in status.read_text()


def test_a_tiny_bench_measures_every_section_against_a_real_server(tiny_shop_env, tmp_path):
    out = tmp_path / "bench"
    options = BenchOptions(
        levels=(2,),
        max_new_tokens=4,
        min_new_tokens=4,
        single_requests=1,
        naive_prompts=2,
        retrieval_queries=3,
        reorder_repeats=3,
        server_env=tiny_shop_env,
        out=out,
        # the tiny shop sells no yogurt: "is the greek yogurt in stock?" is answered without the model there
        questions=("where is my order?", "do you sell oat milk?"),
    )
    result = run_bench(options)

    assert [row["level"] for row in result["sweep"]] == [1, 2]  # concurrency 1 is always measured
    for row in result["sweep"]:
        assert row["requests"] == row["level"] and row["errors"] == 0, row
        assert row["tokens"] == 4 * row["requests"]  # the answer cap and floor reached the server
        assert row["ttft_p50_s"] > 0 and row["ttft_p95_s"] >= row["ttft_p50_s"]
        # each shopper's wait, and the server's part of it (the facts' gathering and the socket are the rest)
        assert len(row["ttfts_s"]) == row["requests"] and row["ttfts_s"] == sorted(row["ttfts_s"])
        assert 0 < row["server_ttft_p50_s"] <= row["ttft_p50_s"] and 0 < row["server_ttft_p95_s"] <= row["ttft_p95_s"]
        assert row["aggregate_tokens_per_s"] > 0 and row["wall_s"] > 0
        assert row["server_peak_rss_mib"] >= row["server_rss_mib"] > 100
        # the server's own count of the level's prompt tokens, and of those its prefix cache did not hold
        assert 0 < row["prompt_tokens_computed"] < row["prompt_tokens"]
    assert result["config"]["max_queued_generations"] + result["config"]["concurrent_generations"] >= 2

    # every request had a prompt of its own, and the naive reference answered the very prompts the server built
    assert result["prompts"]["count"] == 3
    matched, checked = map(int, result["prompts"]["server_prompt_tokens_match"].split("/"))
    assert checked == 3 and matched == checked
    naive = result["naive"]
    assert naive["requests"] == 2 and naive["tokens"] == 8 and naive["ttft_p50_s"] > 0
    assert naive["sequential_aggregate_tokens_per_s"] > 0 and naive["model"]["dtype"] == "float32"
    assert result["single_stream"]["websocket"]["ttft_p50_s"] == result["sweep"][0]["ttft_p50_s"]
    assert result["single_stream"]["in_process"]["ttft_p50_s"] > 0 and result["single_stream"]["in_process"][
        "tokens"
    ] == [4]
    assert set(result["ratios"]["aggregate_vs_naive_sequential"]) == {"1", "2"}
    assert all(v > 0 for v in result["ratios"]["aggregate_vs_naive_sequential"].values())

    assert (
        result["retrieval"]["queries"] == 3
        and result["retrieval"]["search_p95_ms"] >= result["retrieval"]["search_p50_ms"] > 0
    )
    assert result["reorder"]["recommend_p50_ms"] > 0
    server = result["server"]
    assert 0 < server["listening_s"] <= server["ready_s"] and server["peak_rss_mib"] > 100
    assert server["first_request"]["error"] is None and server["exit_code"] is not None

    png = Path(result["plot"])
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
    assert json.loads((out / "bench.json").read_text()) == json.loads(json.dumps(result))


def test_a_server_that_cannot_start_is_reported_with_its_log_and_is_gone(tmp_path):
    server = ServerProcess({"SHOPBOT_MAX_FRAME_BYTES": "10"}, tmp_path / "server.log")
    server.start()
    try:
        with pytest.raises(BenchError, match="max_frame_bytes"):
            server.wait_ready(60)
    finally:
        server.stop()
    assert not _alive(server.proc.pid)


def test_options_are_checked_before_anything_starts():
    assert parse_levels("16, 4,1,4") == (1, 4, 16)
    assert parse_env(["dtype=bfloat16", "SHOPBOT_MAX_CONCURRENT_GENERATIONS=16", "OMP_NUM_THREADS=2"]) == {
        "SHOPBOT_DTYPE": "bfloat16",
        "SHOPBOT_MAX_CONCURRENT_GENERATIONS": "16",
        "OMP_NUM_THREADS": "2",
    }
    for bad in ("0,4", "one,two", ""):
        with pytest.raises(BenchError, match="--levels"):
            parse_levels(bad)
    with pytest.raises(BenchError, match="KEY=VALUE"):
        parse_env(["dtype"])
    with pytest.raises(BenchError, match="dtype"):
        run_bench(BenchOptions(levels=(1,), server_env={"SHOPBOT_DTYPE": "float16"}))


def test_plain_shopbot_bench_runs_the_benchmark_and_bench_reorder_stays_a_subcommand():
    from typer.testing import CliRunner

    from bot.cli.main import app

    refused = CliRunner().invoke(app, ["bench", "--levels", "0,4"])
    assert refused.exit_code == 1 and "every level must be at least 1" in refused.output
    listed = CliRunner().invoke(app, ["bench", "--help"])
    assert listed.exit_code == 0 and "reorder" in listed.output and "--server-env" in listed.output
