"""`shopbot db`: the schema's Alembic migrations from the command line, on SQLite and PostgreSQL, and the one line
a PostgreSQL database without its driver ends with, wherever the database is first opened."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from retrieval import migrations
from retrieval.store import Store
from tests.bot.cli.test_extras import shopbot_without
from tests.retrieval.test_store import FIRST_SCHEMA, schema_differences

PG_WITHOUT_DRIVER = {"SHOPBOT_DATABASE_URL": "postgresql+psycopg://shop@127.0.0.1:1/shop"}
EXTRA_LINE = "error: a PostgreSQL database needs psycopg: pip install 'shopbot[postgres]'"


def shopbot(*args: str, url: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(Path(sys.executable).parent / "shopbot"), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "SHOPBOT_DATABASE_URL": url, "COLUMNS": "200"},
        timeout=120,
    )


def test_db_upgrade_migrates_a_new_postgresql_database_and_db_current_prints_its_revision(fresh_postgres_url):
    before = shopbot("db", "current", url=fresh_postgres_url)
    assert before.returncode == 0 and before.stdout.strip() == ""
    assert "behind" in before.stderr and "shopbot db upgrade" in before.stderr

    upgraded = shopbot("db", "upgrade", url=fresh_postgres_url)
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"revision none -> {migrations.HEAD}" in upgraded.stderr
    assert "postgres@" in upgraded.stderr

    after = shopbot("db", "current", url=fresh_postgres_url)
    assert after.stdout.strip() == migrations.HEAD and "up to date" in after.stderr
    store = Store(fresh_postgres_url)
    assert schema_differences(store) == []
    store.engine.dispose()


def test_db_upgrade_brings_in_a_sqlite_database_made_before_migrations(tmp_path):
    with sqlite3.connect(tmp_path / "old.db") as db:
        db.executescript(FIRST_SCHEMA)
    url = f"sqlite:///{tmp_path / 'old.db'}"
    result = shopbot("db", "upgrade", url=url)
    assert result.returncode == 0, result.stderr
    assert Store(url).schema_revision() == migrations.HEAD


def test_db_upgrade_to_an_unknown_revision_is_a_one_line_error(tmp_path):
    result = shopbot("db", "upgrade", "9999", url=f"sqlite:///{tmp_path / 'shop.db'}")
    assert result.returncode == 1
    assert result.stderr.startswith("error: cannot upgrade sqlite:///") and "'9999'" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("args", [("db", "upgrade"), ("serve", "--demo", "--port", "0")], ids=["db-upgrade", "serve"])
def test_a_postgresql_database_without_psycopg_ends_the_command_with_the_extra_to_install(args):
    result = shopbot_without(("psycopg",), *args, env=PG_WITHOUT_DRIVER)
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip().splitlines()[-1] == EXTRA_LINE
    assert "Traceback" not in result.stderr
