"""A throwaway PostgreSQL cluster for the tests: the real server, on a unix socket in a temp folder.

Nothing listens on TCP (listen_addresses=''), durability is off (fsync, full-page writes) because the cluster is
deleted at the end, and its superuser is `postgres` with trust authentication over the socket only. initdb
refuses to run as root, so under root (CI containers) the cluster runs as the `postgres` OS user (Debian's
postgresql package creates it) in folders that user owns.
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

# Runs a test once on SQLite and once on PostgreSQL: the `store_url` fixture (tests/conftest.py), and the stores
# made from it (`tiny_store`, `ingest_store`), take the parameter.
on_both_stores = pytest.mark.parametrize("store_url", ["sqlite", "postgresql"], indirect=True)

INSTALL_HINT = (
    "PostgreSQL's server binaries (initdb, pg_ctl) were not found: install Debian's `postgresql` package "
    "(`apt-get install postgresql`; .ci/run does) or point SHOPBOT_PG_BINDIR at the folder holding them."
)
SUPERUSER = "postgres"


def find_bindir() -> Path | None:
    """The folder with initdb and pg_ctl: SHOPBOT_PG_BINDIR, then `pg_config --bindir`, then the newest
    /usr/lib/postgresql/*/bin (Debian keeps them off PATH), then PATH."""
    candidates: list[str] = []
    if os.environ.get("SHOPBOT_PG_BINDIR"):
        candidates.append(os.environ["SHOPBOT_PG_BINDIR"])
    if shutil.which("pg_config"):
        try:
            out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, timeout=10, check=True)
            candidates.append(out.stdout.strip())
        except (subprocess.SubprocessError, OSError):
            pass

    def version(path: str) -> tuple[int, ...]:
        return tuple(int(n) for n in re.findall(r"\d+", path)) or (0,)

    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True)
    if shutil.which("initdb"):
        candidates.append(str(Path(shutil.which("initdb")).parent))
    for folder in candidates:
        if (Path(folder) / "initdb").is_file() and (Path(folder) / "pg_ctl").is_file():
            return Path(folder)
    return None


class PostgresCluster:
    """One running cluster; `create_database` hands out empty databases on it as SQLAlchemy URLs."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.base = Path(tempfile.mkdtemp(prefix="shopbot-pg-", dir="/tmp" if os.path.isdir("/tmp") else None))
        self.data = self.base / "data"
        self.socket_dir = self.base
        self.log = self.base / "server.log"
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            owner = _unprivileged_user()
            os.chown(self.base, owner.pw_uid, owner.pw_gid)
            self._as_user = ["runuser", "-u", owner.pw_name, "--"]

    @classmethod
    def start(cls) -> PostgresCluster:
        bindir = find_bindir()
        if bindir is None:
            raise RuntimeError(INSTALL_HINT)
        cluster = cls(bindir)
        try:
            cluster._initdb()
            cluster._pg_ctl(
                "start",
                "-w",
                "-t",
                "60",
                "-l",
                str(cluster.log),
                "-o",
                f"-c listen_addresses='' -k {cluster.socket_dir} -c fsync=off -c synchronous_commit=off "
                "-c full_page_writes=off -c max_connections=200",
            )
        except Exception:
            cluster.stop()
            raise
        return cluster

    def _run(self, *args: str) -> None:
        result = subprocess.run(
            [*self._as_user, *args], cwd=self.base, capture_output=True, text=True, timeout=120, check=False
        )
        if result.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{Path(args[0]).name} failed ({result.returncode}): {result.stderr.strip()}\n{log}")

    def _initdb(self) -> None:
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--no-sync",
            "--encoding=UTF8",
            "--locale=C",
        )

    def _pg_ctl(self, *args: str) -> None:
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), *args)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{SUPERUSER}@/{database}?host={self.socket_dir}"

    def create_database(self, name: str | None = None) -> str:
        """A new empty database (a unique name unless one is given) and its SQLAlchemy URL."""
        import psycopg

        name = name or f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(host=str(self.socket_dir), user=SUPERUSER, dbname="postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        """Stop the server at once (nothing in it is kept) and delete its folder."""
        if (self.data / "postmaster.pid").exists():
            try:
                self._pg_ctl("stop", "-m", "immediate", "-w")
            except (RuntimeError, subprocess.SubprocessError):
                pass
        shutil.rmtree(self.base, ignore_errors=True)


def _unprivileged_user() -> pwd.struct_passwd:
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError("running as root and neither a `postgres` nor a `nobody` OS user exists to run PostgreSQL")
