"""What a person sees first: `shopbot --help` without the heavy libraries, a loading line before any slow work,
and benchmarks whose progress goes to stderr while stdout stays their JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.bot.cli.test_chat import SHOPBOT
from tests.conftest import MODEL_CACHE, seed_routing_index

HEAVY = ("torch", "transformers", "faiss", "sentence_transformers", "fastapi", "sqlalchemy", "numpy")


def shop_env(data_dir: Path, **extra: str) -> dict[str, str]:
    seed_routing_index(data_dir)
    return {
        **os.environ,
        "SHOPBOT_DATA_DIR": str(data_dir),
        "SHOPBOT_MODEL_CACHE_DIR": str(MODEL_CACHE),
        "COLUMNS": "200",
        **extra,
    }


def test_the_help_imports_none_of_the_model_index_or_server_libraries():
    script = (
        "import json, sys\n"
        "from bot.cli.main import app\n"
        "for args in (['--help'], ['chat', '--help'], ['bench', '--help'], ['eval', 'answers', '--help']):\n"
        "    try:\n"
        "        app(args, prog_name='shopbot')\n"
        "    except SystemExit:\n"
        "        pass\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]), file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "Chat with the shop's assistant" in result.stdout
    assert json.loads(result.stderr.splitlines()[-1]) == []


def test_chat_says_it_is_loading_before_anything_else_reaches_the_terminal(tiny_store, tmp_path):
    """stdout and stderr in one pipe, in the order written: no library warning or progress bar comes first."""
    result = subprocess.run(
        [str(SHOPBOT), "chat", "--customer", "C1"],
        input="hi\n",
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=shop_env(tmp_path, SHOPBOT_MAX_NEW_TOKENS="4"),
        timeout=300,
    )
    assert result.returncode == 0, result.stdout
    lines = result.stdout.splitlines()
    assert lines[0] == "Loading the model and the shop's indexes…"
    ready = next(i for i, line in enumerate(lines) if line.startswith("ready in "))  # the indexes' build between
    assert any(line.startswith("bot> ") for line in lines[ready:])
    assert "Warning" not in result.stdout and "Loading weights" not in result.stdout


def test_a_refused_customer_still_sees_the_loading_line_first(tiny_store, tmp_path):
    result = subprocess.run(
        [str(SHOPBOT), "chat", "--customer", "C404"],
        input="hi\n",
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=shop_env(tmp_path),
        timeout=120,
    )
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0] == "Loading the model and the shop's indexes…"
    assert lines[1].startswith("error: unknown customer 'C404'")
    assert not (tmp_path / "index" / "products").exists()  # refused before any index or the model was loaded


def test_bench_spelling_prints_only_json_on_stdout_and_a_line_per_phase_on_stderr(tiny_store, tmp_path):
    result = subprocess.run(
        [str(SHOPBOT), "bench", "spelling", "--repeats", "1"],
        capture_output=True,
        text=True,
        env=shop_env(tmp_path),
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["messages"] > 0 and figures["p50_ms"] >= 0
    phases = [line for line in result.stderr.splitlines() if line.endswith("…")]
    assert phases == [
        "loading the shop's indexes and the router…",
        "building the speller from the shop's words…",
        f"timing {figures['messages']} messages, best of 1…",
    ]
