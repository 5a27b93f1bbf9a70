"""The house rules of the code's layout: entry points sit above the library, and no folder grows a crowd."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MAX_MODULES_PER_FOLDER = 12


def imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def modules(*tops: str, without: str | None = None) -> list[Path]:
    found = [p for top in tops for p in (REPO / top).rglob("*.py")]
    return [p for p in found if without is None or not p.is_relative_to(REPO / without)]


def importers(files: list[Path], *packages: str) -> list[str]:
    return sorted(
        f"{p.relative_to(REPO)} imports {name}"
        for p in files
        for name in imported(p)
        if any(name == pkg or name.startswith(pkg + ".") for pkg in packages)
    )


def test_the_library_never_imports_the_server_or_the_command_line():
    assert importers(modules("bot", "retrieval", "adapters", without="bot/cli"), "server", "bot.cli") == []


def test_retrieval_sits_below_the_bot():
    assert importers(modules("retrieval"), "bot", "adapters", "server") == []


def test_the_server_and_the_command_line_reach_inference_only_through_the_runtime():
    """The benchmark's naive baseline and the adapter's training load the model themselves."""
    allowed = {"bot/cli/bench.py", "bot/cli/main.py"}
    found = importers(modules("server") + modules("bot/cli"), "bot.inference")
    offenders = [line for line in found if line.split(" imports ")[0] not in allowed]
    assert offenders == []
    assert [line for line in found if line.startswith("bot/cli/main.py")] == [
        "bot/cli/main.py imports bot.inference.model"  # `train lora` loads the float32 model to train
    ]


def test_no_folder_under_bot_holds_more_than_twelve_modules():
    crowded = {
        str(folder.relative_to(REPO)): count
        for folder in [REPO / "bot", *(p for p in (REPO / "bot").rglob("*") if p.is_dir())]
        if (count := len(list(folder.glob("*.py")))) > MAX_MODULES_PER_FOLDER
    }
    assert crowded == {}
