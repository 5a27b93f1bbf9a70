"""Alembic's entry point: runs the revisions in versions/ against shopbot's tables (retrieval/schema.py).

shopbot passes the connection to migrate in `config.attributes["connection"]` (retrieval/migrations/__init__.py),
so the upgrade runs inside its transaction and lock. The `alembic` command line, used to write new revisions,
names the database with `-x url=...` or SHOPBOT_DATABASE_URL.
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import Connection

from retrieval.schema import Base

# Tables the server keeps for itself, outside the shop's schema: the replicas' shared rate-limit windows
# (server/limits.py, an unlogged table it creates). Autogenerate must not propose dropping them.
SERVER_TABLES = frozenset({"shopbot_rate_windows"})


def _ours(obj, name: str | None, type_: str, reflected: bool, compare_to) -> bool:
    return not (type_ == "table" and reflected and name in SERVER_TABLES)


def _configure_and_run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        include_object=_ours,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters most columns by copying the table
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url") or os.environ.get("SHOPBOT_DATABASE_URL")
    if not url:
        raise SystemExit("name the database: alembic -x url=SQLALCHEMY_URL ..., or set SHOPBOT_DATABASE_URL")
    return url


if (shared := context.config.attributes.get("connection")) is not None:
    _configure_and_run(shared)
elif context.is_offline_mode():
    context.configure(url=_url(), target_metadata=Base.metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    from retrieval.store import make_engine

    engine = make_engine(_url())
    try:
        with engine.begin() as connection:
            _configure_and_run(connection)
    finally:
        engine.dispose()
