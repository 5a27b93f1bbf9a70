"""Schema changes as Alembic revisions (versions/), applied by `shopbot db upgrade` and whenever shopbot opens
its database (`Store.create_schema`), so a new shopbot on an old database, or a fresh one, works at once.

Databases made before the revisions existed (tables created from the models and added to in place, no
alembic_version table) are stamped with the revision their tables match, then upgraded from there.
On PostgreSQL the upgrade holds an advisory lock, so replicas starting together migrate one after another;
within a process a lock does the same, as Alembic keeps its running migration in module globals.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, text

if TYPE_CHECKING:
    from alembic.config import Config

FOLDER = Path(__file__).parent
# The newest revision in versions/, what the models in retrieval/schema.py describe. Known without Alembic, so a
# command on a current database never imports it (a test checks it is the head Alembic finds).
HEAD = "0003"
# pg_advisory_xact_lock's key: any constant no other part of shopbot locks on ("shopbot" in ASCII)
UPGRADE_LOCK = 0x73686F70626F74
_in_process = threading.Lock()


def config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(FOLDER))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def current(connection: Connection) -> str | None:
    """The database's revision, or None for an empty database (or one made before the revisions)."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(engine: Engine, revision: str = "head") -> str | None:
    """Bring the database to `revision`, in one transaction where the database allows (PostgreSQL); returns
    the revision it is at afterwards."""
    with _in_process, engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": UPGRADE_LOCK})
        if revision in ("head", HEAD) and current(connection) == HEAD:
            return HEAD
        from alembic import command

        cfg = config(connection)
        if (matched := legacy_revision(connection)) is not None:
            command.stamp(cfg, matched)
        command.upgrade(cfg, revision)
        return current(connection)


def legacy_revision(connection: Connection) -> str | None:
    """The revision the tables of a database made before the revisions match; None for any other database.

    Older shopbots created the tables from the models and then added columns and indexes that were missing, so
    such a database has one of the shapes below. A plain feedback index beside the unique one means it took
    that last step in place: 0003 finishes it by dropping the plain index."""
    found = inspect(connection)
    tables = set(found.get_table_names())
    if "alembic_version" in tables or "products" not in tables:
        return None
    if "feedback" not in tables:
        return "0001"
    indexes = {i["name"] for i in found.get_indexes("feedback")}
    if "ux_feedback_message" in indexes and "ix_feedback_message_id" not in indexes:
        return "0003"
    return "0002"
