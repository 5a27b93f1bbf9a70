"""Tools the assistant calls on a shopper's behalf, one module each, registered once.

A tool module declares a `ToolSpec` and passes it to `register`; `BUILTIN` names the shipped ones. The
runtime (`build_tools`), rule routing (`bot.assistant.intents.tool_for`), the adapter's training data
(`adapters/data.py`) and the tool reference in docs/tool-calls.md all read `registered()`. A shop's own
tool is one more module that calls `register` when imported (settings `tool_modules`).
"""

from __future__ import annotations

import importlib
import threading
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
    "BUILTIN",
    "Effect",
    "Route",
    "Tool",
    "ToolArgs",
    "ToolDeps",
    "ToolError",
    "ToolRegistry",
    "ToolResult",
    "ToolSession",
    "ToolSpec",
    "Training",
    "build_tools",
    "document",
    "load",
    "reference",
    "register",
    "registered",
    "unregister",
    "version",
]

# Registration order is the order tools are offered to the model and their intents are trained.
BUILTIN = (
    "bot.assistant.tools.suggest_reorder",
    "bot.assistant.tools.handoff",
    "bot.assistant.tools.lookup_order",
    "bot.assistant.tools.search_products",
)

_SPECS: dict[str, ToolSpec] = {}
_ordered: list[ToolSpec] | None = None  # registered(), kept until the registry changes
_version = 0
_loaded = False
_loading = threading.RLock()


def register(spec: ToolSpec) -> ToolSpec:
    """Adds a tool; a second tool of the same name is refused rather than silently replacing the first."""
    existing = _SPECS.get(spec.name)
    if existing is not None and existing is not spec:
        raise ValueError(f"a tool named {spec.name!r} is already registered")
    if existing is None:
        _SPECS[spec.name] = spec
        _changed()
    return spec


def unregister(name: str) -> None:
    if _SPECS.pop(name, None) is not None:
        _changed()


def _changed() -> None:
    global _ordered, _version
    _ordered = None
    _version += 1


def version() -> int:
    """A number that changes whenever a tool is registered or removed, for caches of what tools declare."""
    load()
    return _version


def load(modules: Iterable[str] = ()) -> None:
    """Imports the shipped tool modules (once) and any others named, each registering its tools; a named
    module's `ToolSpec`s are registered even if it was imported before."""
    global _loaded
    with _loading:  # the first question may arrive on several threads at once
        if not _loaded:
            for module in BUILTIN:
                importlib.import_module(module)
            _loaded = True
    for name in modules:
        module = importlib.import_module(name)
        for value in vars(module).values():  # again, should the module have been imported before
            if isinstance(value, ToolSpec):
                register(value)


def registered() -> list[ToolSpec]:
    """Every registered tool: the shipped ones in `BUILTIN` order (whichever module was imported first),
    then the others in the order they registered."""
    global _ordered
    load()
    ordered = _ordered
    if ordered is None:
        rank = {module: n for n, module in enumerate(BUILTIN)}
        ordered = _ordered = sorted(_SPECS.values(), key=lambda spec: rank.get(spec.build.__module__, len(BUILTIN)))
    return list(ordered)


def build_tools(deps: ToolDeps, names: Iterable[str] | None = None) -> ToolRegistry:
    """The registry of callable tools, each built from `deps`; `names` picks some (default: all)."""
    specs = registered()
    if names is not None:
        wanted = set(names)
        specs = [s for s in specs if s.name in wanted]
    return ToolRegistry([s.build(deps) for s in specs])


def _argument(name: str, schema: dict, required: bool) -> str:
    for option in schema.get("anyOf", []):  # an optional argument: its bounds are on the non-null option
        schema = {**option, **schema}
    bounds = [f"{schema['minimum']}-{schema['maximum']}"] if "minimum" in schema and "maximum" in schema else []
    if not required and schema.get("default") is not None:
        bounds.append(f"default {schema['default']}")
    elif not required:
        bounds.append("optional")
    return f"`{name}` ({', '.join(bounds)})" if bounds else f"`{name}`"


def reference() -> str:
    """The tool reference in docs/tool-calls.md, generated from the registry (`shopbot docs`)."""
    lines = [
        "| tool | arguments | needs a signed-in shopper | result | called by rule routing when | side effect |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for spec in registered():
        schema = spec.args.model_json_schema()
        required = set(schema.get("required", []))
        arguments = ", ".join(_argument(n, p, n in required) for n, p in schema.get("properties", {}).items())
        routes = []
        if spec.route.pattern is not None:
            routes.append("its phrases match")
        if spec.route.classifier:
            routes.append(
                f"the router reads intent `{spec.route.intent}` above a threshold calibrated for "
                f"{spec.route.precision:.0%} precision"
            )
        lines.append(
            f"| `{spec.name}` | {arguments or 'none'} | {'yes' if spec.needs_customer else 'no'} | {spec.returns} | "
            f"{' or '.join(routes) or 'never'} | {spec.effect.value if spec.effect else 'none'} |"
        )
    return "\n".join(lines) + "\n"


BEGIN, END = "<!-- tools: generated by `shopbot docs` -->", "<!-- end of tools -->"


def document(page: str) -> str:
    """`page` (docs/tool-calls.md) with its tool reference, between the markers, made anew from the registry."""
    head, found, rest = page.partition(BEGIN)
    if not found:
        raise ValueError(f"the page has no {BEGIN!r} marker for the tool reference")
    _, found, tail = rest.partition(END)
    if not found:
        raise ValueError(f"the page has no {END!r} marker after the tool reference")
    return f"{head}{BEGIN}\n{reference()}{END}{tail}"
