"""Tools the assistant calls on a shopper's behalf, one module each, registered once.

A tool module declares a `ToolSpec` and passes it to `register`; `BUILTIN` names the shipped ones. The
runtime (`build_tools`), rule routing (`bot.assistant.intents.tool_for`), the adapter's training data
(`adapters/data.py`) and the tool reference in docs/tool-calls.md all read `registered()`. A shop's own
tool is one more module that calls `register` when imported (settings `tool_modules`).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable

from bot.assistant.tools.base import (
    Effect,
    Route,
    Tool,
    ToolArgs,
    ToolDeps,
    ToolError,
    ToolRegistry,
    ToolResult,
    ToolSession,
    ToolSpec,
    Training,
)

__all__ = [
    "BUILTIN", "Effect", "Route", "Tool", "ToolArgs", "ToolDeps", "ToolError", "ToolRegistry", "ToolResult",
    "ToolSession", "ToolSpec", "Training", "build_tools", "register", "registered", "unregister", "reference",
]

# Registration order is the order tools are offered to the model and their intents are trained.
BUILTIN = (
    "bot.assistant.tools.suggest_reorder",
    "bot.assistant.tools.handoff",
    "bot.assistant.tools.lookup_order",
    "bot.assistant.tools.search_products",
)

_SPECS: dict[str, ToolSpec] = {}
_loaded = False


def register(spec: ToolSpec) -> ToolSpec:
    """Adds a tool; a second tool of the same name is refused rather than silently replacing the first."""
    existing = _SPECS.get(spec.name)
    if existing is not None and existing is not spec:
        raise ValueError(f"a tool named {spec.name!r} is already registered")
    _SPECS[spec.name] = spec
    return spec


def unregister(name: str) -> None:
    _SPECS.pop(name, None)


def load(modules: Iterable[str] = ()) -> None:
    """Imports the shipped tool modules (once) and any others named, each registering its tools."""
    global _loaded
    if not _loaded:
        _loaded = True
        for module in BUILTIN:
            importlib.import_module(module)
    for module in modules:
        importlib.import_module(module)


def registered() -> list[ToolSpec]:
    load()
    return list(_SPECS.values())


def build_tools(deps: ToolDeps, names: Iterable[str] | None = None) -> ToolRegistry:
    """The registry of callable tools, each built from `deps`; `names` picks some (default: all)."""
    specs = registered()
    if names is not None:
        wanted = set(names)
        specs = [s for s in specs if s.name in wanted]
    return ToolRegistry([s.tool(deps) for s in specs])


def reference() -> str:
    """The tool reference in docs/tool-calls.md, generated from the registry (`shopbot docs`)."""
    lines = [
        "| tool | what it does | arguments | needs sign-in | routed by rules when | side effect |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for spec in registered():
        props = spec.args.model_json_schema().get("properties", {})
        arguments = "; ".join(f"`{name}`: {p.get('description', '')}" for name, p in props.items()) or "none"
        routes = []
        if spec.route.pattern is not None:
            routes.append("its phrases match")
        if spec.route.classifier:
            routes.append(f"the classifier reads intent `{spec.route.intent}`")
        lines.append(
            f"| `{spec.name}` | {spec.description} | {arguments} | {'yes' if spec.needs_customer else 'no'} | "
            f"{' or '.join(routes) or 'never (model routing only)'} | {spec.effect.value if spec.effect else 'none'} |"
        )
    return "\n".join(lines) + "\n"
