"""`shopbot bench` end to end at tiny scale: a real `shopbot serve --demo` subprocess, real WebSockets, the real model.

The figures themselves are not asserted (speed belongs in benchmark output, not in tests); what is
asserted is that every section measured something real, that the naive reference answered the very
prompts the server built, and that the server subprocess is gone afterwards. One run covers both backends:
the in-process engine, then a server whose remote backend streams from llama.cpp's real server.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest

from bot.cli.bench import (
    BenchError,
    BenchOptions,
    ServerProcess,
    free_port,
    parse_env,
    parse_levels,
    remote_settings,
    render_tables,
    run_bench,
)
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


@pytest.fixture(scope="module")
def bench_run(tiny_shop_env, llama_engine, tmp_path_factory) -> tuple[dict, Path, str]:
    """One tiny run of the whole bench: the in-process engine, then the same prompts through llama.cpp's server."""
    out = tmp_path_factory.mktemp("bench") / "bench"
    options = BenchOptions(
        levels=(2,),
        max_new_tokens=4,
        min_new_tokens=4,
        single_requests=1,
        naive_prompts=2,
        retrieval_queries=3,
        reorder_repeats=3,
        server_env=tiny_shop_env,
        remote_env=remote_settings(llama_engine.base_url, parse_env(["remote_read_timeout_s=30"])),
        out=out,
        # the tiny shop sells no yogurt: "is the greek yogurt in stock?" is answered without the model there
        questions=("where is my order?", "do you sell oat milk?"),
    )
    return run_bench(options), out, llama_engine.base_url


def test_a_tiny_bench_measures_every_section_against_a_real_server(bench_run):
    whole, out, _ = bench_run
    result = whole["in_process"]
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
    assert result["retrieval"]["policy_sentences_p95_ms"] >= result["retrieval"]["policy_sentences_p50_ms"] > 0
    assert result["reorder"]["recommend_p50_ms"] > 0
    server = result["server"]
    assert 0 < server["listening_s"] <= server["ready_s"] and server["peak_rss_mib"] > 100
    assert server["first_request"]["error"] is None and server["exit_code"] is not None

    png = Path(result["plot"])
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
    assert json.loads((out / "bench.json").read_text()) == json.loads(json.dumps(whole))


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


def test_with_a_remote_engine_the_bench_measures_both_backends_on_the_same_prompts(bench_run):
    result, _, base_url = bench_run
    assert set(result) == {"in_process", "remote", "remote_vs_in_process", "wall_s"}
    local, remote = result["in_process"], result["remote"]
    assert set(remote) == set(local)  # the same JSON for both engines
    assert set(remote["sweep"][0]) == set(local["sweep"][0])
    assert local["config"]["backend"] == "batched" and remote["config"]["backend"] == "remote"
    assert remote["config"]["remote_base_url"] == base_url and remote["config"]["dtype"] is None
    assert remote["prompts"]["count"] == local["prompts"]["count"] == 3
    assert remote["prompts"]["questions"] == local["prompts"]["questions"]

    assert [row["level"] for row in remote["sweep"]] == [1, 2]
    for row in remote["sweep"]:
        assert row["requests"] == row["level"] and row["errors"] == 0, row
        assert 0 < row["tokens"] <= 4 * row["requests"] and row["ttft_p50_s"] > 0 and row["aggregate_tokens_per_s"] > 0
    through_generator = remote["single_stream"]["in_process"]  # shopbot's client to the engine, no server between
    assert through_generator["ttft_p50_s"] > 0 and 0 < through_generator["tokens"][0] <= 4
    assert remote["server"]["first_request"]["error"] is None and remote["server"]["exit_code"] is not None
    # the server with the remote backend holds no chat model
    assert remote["server"]["peak_rss_mib"] < local["server"]["peak_rss_mib"]

    # measured once, whatever the backend
    assert remote["naive"] == local["naive"] and remote["retrieval"] == local["retrieval"]
    compared = result["remote_vs_in_process"]
    assert set(compared["by_level"]) == {"1", "2"}
    assert all(v["aggregate_tokens_per_s"] > 0 for v in compared["by_level"].values())
    assert Path(remote["plot"]).is_file() and remote["plot"] == local["plot"]  # one chart, both engines drawn


def test_the_tables_show_the_remote_engine_beside_the_in_process_one(bench_run):
    from rich.console import Console

    result, _, base_url = bench_run
    console = Console(file=io.StringIO(), width=200)
    render_tables(result, console)
    text = console.file.getvalue()
    assert "concurrency sweep" in text and f"vs remote engine ({base_url}" in text and "remote tokens/s" in text


def test_a_remote_engine_that_does_not_answer_stops_the_bench_before_anything_starts(tiny_shop_env, tmp_path):
    url = f"http://127.0.0.1:{free_port()}/v1"
    options = BenchOptions(levels=(1,), server_env=tiny_shop_env, remote_env=remote_settings(url, {}), out=tmp_path)
    with pytest.raises(BenchError, match=f"does not answer at {url}/models"):
        run_bench(options)
    assert list(tmp_path.iterdir()) == []  # no server started, no log written


def test_remote_options_are_checked_before_anything_starts():
    from typer.testing import CliRunner

    from bot.cli.main import app

    assert remote_settings("http://engine:8080/v1", parse_env(["remote_model=shop"], "--remote-env")) == {
        "SHOPBOT_GENERATION": "remote",
        "SHOPBOT_REMOTE_BASE_URL": "http://engine:8080/v1",
        "SHOPBOT_REMOTE_MODEL": "shop",
    }
    with pytest.raises(BenchError, match="--remote 'engine:8080'"):
        remote_settings("engine:8080", {})
    with pytest.raises(BenchError, match="--remote-env 'remote_model'"):
        parse_env(["remote_model"], "--remote-env")
    alone = CliRunner().invoke(app, ["bench", "--remote-env", "remote_model=shop"])
    assert alone.exit_code == 1 and "--remote too" in alone.output
