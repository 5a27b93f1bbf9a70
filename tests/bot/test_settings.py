"""The settings object documents itself: every field described and sectioned, docs/configuration.md generated from it,
and the environment and TOML file still read as before."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from bot import settings as settings_module
from bot.settings import PROJECT_ROOT, SECTION_INTROS, SECTIONS, Settings, configuration_markdown

FIELDS = Settings.model_fields


@pytest.fixture(autouse=True)
def no_config_file(monkeypatch, tmp_path):
    """No shopbot.toml of the working directory and no SHOPBOT_ variable of the caller leaks into a test."""
    import os

    for key in list(os.environ):
        if key.upper().startswith("SHOPBOT_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("SHOPBOT_CONFIG", str(tmp_path / "absent.toml"))


@pytest.mark.parametrize("name", list(FIELDS))
def test_every_field_has_a_one_sentence_description(name):
    description = FIELDS[name].description
    assert description, f"{name} has no description"
    assert "\n" not in description, f"{name}: the description is one line"
    assert description.endswith("."), f"{name}: the description ends with a period"
    assert description[0].isupper(), f"{name}: the description starts with a capital"
    assert not re.search(r"[.!?]\s+[A-Z]", description), f"{name}: the description is one sentence: {description!r}"


def test_no_measured_figures_or_stop_labels_in_the_settings_code():
    source = Path(settings_module.__file__).read_text(encoding="utf-8")
    assert not re.search(r"\bstop \d+", source), "stop N labels belong in the history, not in bot/settings.py"
    assert not re.search(r"\beval 0\.\d", source), "measured figures belong in docs/benchmarks.md"


def test_every_field_is_in_exactly_one_section_in_class_order():
    listed = [name for names in SECTIONS.values() for name in names]
    duplicates = sorted({name for name in listed if listed.count(name) > 1})
    assert not duplicates, f"in more than one section: {duplicates}"
    assert sorted(set(FIELDS) - set(listed)) == [], "fields in no section of SECTIONS"
    assert sorted(set(listed) - set(FIELDS)) == [], "SECTIONS names fields Settings lacks"
    assert listed == list(FIELDS), "declare the fields in Settings in the order SECTIONS lists them"
    assert set(SECTION_INTROS) == set(SECTIONS)


def test_docs_configuration_md_is_current():
    path = PROJECT_ROOT / "docs" / "configuration.md"
    assert path.is_file(), "docs/configuration.md is missing: run `shopbot docs`"
    assert path.read_text(encoding="utf-8") == configuration_markdown(), (
        "docs/configuration.md is not current with bot/settings.py: run `shopbot docs`"
    )


def test_configuration_markdown_is_portable_and_ignores_this_process(monkeypatch):
    before = configuration_markdown()
    monkeypatch.setenv("SHOPBOT_SHOP_NAME", "Somewhere Else")
    monkeypatch.setenv("SHOPBOT_REORDER_MODEL_DIR", "/elsewhere")
    assert configuration_markdown() == before
    assert str(PROJECT_ROOT) not in before
    assert "| `SHOPBOT_REORDER_MODEL_DIR` | path, or None | `bot/reorder/shipped` |" in before
    for name in FIELDS:
        assert f"| `SHOPBOT_{name.upper()}` |" in before
    for section in SECTIONS:
        assert f"\n## {section.capitalize()}\n" in before


def test_environment_names_are_the_prefix_and_the_field():
    for name, field in FIELDS.items():
        assert field.alias is None and field.validation_alias is None, (
            f"{name} would not be read from SHOPBOT_{name.upper()}"
        )


def test_environment_overrides_defaults_and_the_toml_file(monkeypatch, tmp_path):
    toml = tmp_path / "shop.toml"
    toml.write_text('max_new_tokens = 99\ntop_k_products = 3\nshop_name = "From TOML"\n', encoding="utf-8")
    monkeypatch.setenv("SHOPBOT_CONFIG", str(toml))
    monkeypatch.setenv("SHOPBOT_MAX_NEW_TOKENS", "77")
    monkeypatch.setenv("SHOPBOT_FACTS_BY_INTENT", "false")
    monkeypatch.setenv("SHOPBOT_ALLOWED_ORIGINS", '["https://shop.example"]')
    monkeypatch.setenv("SHOPBOT_REORDER_MODEL_DIR", str(tmp_path / "ranker"))
    s = Settings()
    assert s.max_new_tokens == 77  # the environment over the TOML file
    assert s.top_k_products == 3 and s.shop_name == "From TOML"  # the TOML file over the defaults
    assert s.facts_by_intent is False
    assert s.allowed_origins == ["https://shop.example"]
    assert s.reorder_model_dir == tmp_path / "ranker"
    assert s.max_tool_calls_per_turn == FIELDS["max_tool_calls_per_turn"].default == 2


def test_defaults_and_derived_paths(tmp_path):
    s = Settings(data_dir=tmp_path)
    assert s.database_url == f"sqlite:///{tmp_path / 'shop.db'}"
    assert s.index_dir == tmp_path / "index" and s.model_cache_dir == tmp_path / "models"
    assert s.reorder_model_dir == settings_module.SHIPPED_REORDER_MODEL
    assert s.shop_now is None and s.tool_routing == "rules" and s.max_batch_size == 16


@pytest.mark.parametrize(
    "variable, value",
    [
        ("SHOPBOT_MAX_TOOL_CALLS_PER_TURN", "9"),
        ("SHOPBOT_TOP_P", "0"),
        ("SHOPBOT_TOOL_ROUTING", "magic"),
        ("SHOPBOT_MAX_FRAME_BYTES", "1023"),
    ],
)
def test_constraints_still_hold(monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError):
        Settings()


def test_docs_command_writes_and_checks(monkeypatch, tmp_path):
    from bot.assistant.tools import BEGIN, END
    from bot.cli.main import app

    real_page = (settings_module.PROJECT_ROOT / "docs" / "tool-calls.md").read_text(encoding="utf-8")
    monkeypatch.setattr(settings_module, "PROJECT_ROOT", tmp_path)
    (tmp_path / "docs").mkdir()
    page = tmp_path / "docs" / "tool-calls.md"
    page.write_text(real_page.split(BEGIN)[0] + f"{BEGIN}\n| a stale table |\n{END}\n", encoding="utf-8")
    runner = CliRunner()
    stale = runner.invoke(app, ["docs", "--check"])
    assert stale.exit_code == 1 and "docs/configuration.md" in stale.output and "shopbot docs" in stale.output
    assert "tool-calls.md" in stale.output and "a stale table" in page.read_text(encoding="utf-8")
    assert not (tmp_path / "docs" / "configuration.md").exists()
    written = runner.invoke(app, ["docs"])
    assert written.exit_code == 0, written.output
    assert (tmp_path / "docs" / "configuration.md").read_text(encoding="utf-8") == configuration_markdown()
    assert "a stale table" not in page.read_text(encoding="utf-8") and "`search_products`" in page.read_text()
    assert runner.invoke(app, ["docs", "--check"]).exit_code == 0
