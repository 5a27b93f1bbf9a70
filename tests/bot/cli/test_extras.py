"""Optional dependencies (extras `plots`, `train`, `postgres`): the product runs without them, and a command that
needs one that is missing ends with the one line that installs it.

A missing package is simulated the way Python itself reports one: `sys.modules[name] = None` makes its import
raise ModuleNotFoundError, and `importlib.util.find_spec` answer None, as for a package never installed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

OPTIONAL = ("matplotlib", "sklearn", "threadpoolctl", "psycopg")


def shopbot_without(missing: tuple[str, ...], *args: str, env: dict[str, str] | None = None):
    script = (
        "import sys\n"
        f"for name in {missing!r}:\n"
        "    sys.modules[name] = None\n"
        "from bot.cli.main import app\n"
        f"app({list(args)!r}, prog_name='shopbot')\n"
    )
    return subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
        timeout=120,
    )


def test_a_chart_without_matplotlib_fails_at_once_with_the_extra_to_install(tmp_path):
    result = shopbot_without(
        ("matplotlib",), "eval", "reorder", "--orders-csv", str(tmp_path / "orders.csv"), "--plot", "chart.png"
    )
    assert result.returncode == 1
    assert result.stderr.strip() == "error: charts need matplotlib: pip install 'shopbot[plots]'"
    assert result.stdout == ""


def test_training_the_reorder_ranker_without_scikit_learn_names_the_train_extra(tmp_path):
    result = shopbot_without(("sklearn",), "train", "reorder", "--out", str(tmp_path / "model"))
    assert result.returncode == 1
    assert result.stderr.strip() == "error: training needs scikit-learn: pip install 'shopbot[train]'"
    assert not (tmp_path / "model").exists()


def test_a_postgres_database_without_psycopg_names_the_postgres_extra():
    """Wherever a missing optional module is first imported (here by SQLAlchemy, opening the database)."""
    env = {"SHOPBOT_DATABASE_URL": "postgresql+psycopg://shop@127.0.0.1:1/shop"}
    result = shopbot_without(("psycopg",), "token", "--customer", "C1", env=env)
    assert result.returncode == 1
    assert result.stderr.strip() == "error: a PostgreSQL database needs psycopg: pip install 'shopbot[postgres]'"
    assert "Traceback" not in result.stderr


def test_a_missing_module_the_product_needs_still_shows_its_traceback():
    result = shopbot_without(("sqlalchemy",), "token", "--customer", "C1")
    assert result.returncode == 1
    assert "ModuleNotFoundError" in result.stderr and "pip install 'shopbot[" not in result.stderr


def test_the_shipped_reorder_ranker_recommends_without_any_optional_dependency(demo_dir: Path):
    result = shopbot_without(
        OPTIONAL, "bench", "reorder", "--json", "--repeats", "2", env={"SHOPBOT_DATA_DIR": str(demo_dir)}
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["candidates"] > 0 and figures["recommend_ms"]["p50_ms"] > 0
