"""Customer tokens and the secret they are signed with: no server without a real secret outside demo mode."""

from __future__ import annotations

import time

import pytest
from typer.testing import CliRunner

from bot.cli.main import app as cli
from bot.runtime import Runtime
from bot.settings import Settings
from server.auth import DEMO_SECRET, InsecureSecret, TokenError, Tokens
from tests.conftest import MODEL_CACHE
from tests.server.conftest import SECRET


def test_no_secret_or_a_weak_one_refuses_to_start_outside_demo_mode(tmp_path):
    from server.app import create_app

    for secret in ("", "short", DEMO_SECRET):
        with pytest.raises(InsecureSecret, match="SHOPBOT_SECRET_KEY"):
            create_app(Runtime(Settings(data_dir=tmp_path, secret_key=secret)))
    create_app(
        Runtime(Settings(data_dir=tmp_path, model_cache_dir=MODEL_CACHE, demo_mode=True))
    )  # the demo may use the built-in key


def test_tokens_carry_the_customer_and_expire():
    tokens = Tokens(Settings(secret_key=SECRET, token_ttl_minutes=5))
    assert tokens.verify(tokens.mint("C1")) == "C1"
    with pytest.raises(TokenError, match="expired"):
        tokens.verify(tokens.mint("C1", now=time.time() - 301))
    demo = Tokens(Settings(demo_mode=True))
    with pytest.raises(TokenError):
        tokens.verify(demo.mint("C1"))  # signed with another key
    with pytest.raises(TokenError):
        tokens.verify("not.a.token")


def test_the_token_command_mints_a_token_for_a_known_customer(tiny_shop_dir, monkeypatch):
    monkeypatch.setenv("SHOPBOT_DATA_DIR", str(tiny_shop_dir))
    monkeypatch.setenv("SHOPBOT_SECRET_KEY", SECRET)
    result = CliRunner().invoke(cli, ["token", "--customer", "C1", "--ttl-minutes", "2"])
    assert result.exit_code == 0, result.output
    assert Tokens(Settings(secret_key=SECRET)).verify(result.stdout.strip()) == "C1"
    unknown = CliRunner().invoke(cli, ["token", "--customer", "C404"])
    assert unknown.exit_code == 1 and "no customer" in unknown.output


def test_serve_refuses_to_start_without_a_secret(tmp_path, monkeypatch):
    monkeypatch.setenv("SHOPBOT_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("SHOPBOT_SECRET_KEY", raising=False)
    monkeypatch.delenv("SHOPBOT_DEMO_MODE", raising=False)
    result = CliRunner().invoke(cli, ["serve", "--port", "0"])
    assert result.exit_code == 1 and "SHOPBOT_SECRET_KEY" in result.output


def test_the_secret_is_checked_before_the_model_is_looked_at(tmp_path, monkeypatch):
    """A missing secret is reported at once, not after the bundled model's conversion or a model-path error."""
    monkeypatch.setenv("SHOPBOT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SHOPBOT_MODEL_PATH", str(tmp_path / "no-such-model"))
    monkeypatch.delenv("SHOPBOT_SECRET_KEY", raising=False)
    monkeypatch.delenv("SHOPBOT_DEMO_MODE", raising=False)
    result = CliRunner().invoke(cli, ["serve", "--port", "0"])
    assert result.exit_code == 1 and "SHOPBOT_SECRET_KEY" in result.output
    assert not (tmp_path / "models").exists()
