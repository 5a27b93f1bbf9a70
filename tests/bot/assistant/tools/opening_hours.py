"""A shop's own tool, whole in one module: the worked example of docs/tool-calls.md ("Adding a tool").

Named in the `tool_modules` setting (or imported by a test), it registers itself; the runtime offers it to
the model, rule routing calls it when its phrases match, and `shopbot docs` lists it.
"""

from __future__ import annotations

import re

from pydantic import Field

from bot.assistant.tools import Route, Tool, ToolArgs, ToolDeps, ToolResult, ToolSession, ToolSpec, Training, register

NAME = "opening_hours"
HOURS = {"weekdays": "8:00-20:00", "saturday": "9:00-18:00", "sunday": "closed"}


class OpeningHoursArgs(ToolArgs):
    day: str | None = Field(None, max_length=20, description="weekdays, saturday or sunday; empty for the week")


def build(_deps: ToolDeps) -> Tool:
    def run(_session: ToolSession, args: OpeningHoursArgs) -> ToolResult:
        days = [args.day.lower()] if args.day and args.day.lower() in HOURS else list(HOURS)
        return ToolResult("\n".join(f"{d}: {HOURS[d]}" for d in days), [{"day": d, "hours": HOURS[d]} for d in days])

    return SPEC.with_run(run)


SPEC = register(
    ToolSpec(
        name=NAME,
        description="The shop's customer service opening hours.",
        args=OpeningHoursArgs,
        build=build,
        returns="the opening hours, a card per day",
        route=Route(
            intent="opening_hours",
            pattern=re.compile(r"\bopening hours\b|\bwhen are you open\b", re.I),
            priority=50,
            facts=frozenset(),
        ),
        training=Training(
            train=("what are your opening hours?", "when are you open on saturday?"),
            eval=("are you open on sundays?",),
            answer=lambda result, _subject: (
                "We're open " + ", ".join(f"{i['day']} {i['hours']}" for i in result.items) + "."
            ),
        ),
    )
)
