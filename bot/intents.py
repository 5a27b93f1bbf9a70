"""Intent rules that decide when the engine calls a tool before the model answers.

The untuned model cannot call tools yet (teaching it is the LoRA work); until then these rules pick
the call from the shopper's words. Only which tool to call comes from the text — never whose data.
"""

from __future__ import annotations

import re

_REORDER = re.compile(
    r"\b(re-?order|re-?stock|re-?buy|buy (it |them )?again|order (it |them )?again|running (low|out)|run out|"
    r"my usual|usual (stuff|items|order)|regular (shop|order)|what should (i (buy|get|order)|go in my (basket|cart))|"
    r"what do i need|suggest|recommend|"
    r"ideas?\b|due (for|to))",
    re.IGNORECASE,
)


_HANDOFF = re.compile(
    r"\b(talk|speak|chat|connect|transfer|put) (me )?(to|with) (a |an |some|the )?(real |actual |live )?"
    r"(person|human|agent|people|representative|rep|someone|somebody|staff|operator)\b|"
    r"\b(real|live|actual) (person|human|agent)\b|\bcustomer service (rep|representative|agent)\b|"
    r"\b(human|agent|representative),? please\b",
    re.IGNORECASE,
)


def tool_for(text: str) -> str | None:
    """The tool a shopper's message asks for, if any; asking for a person wins over everything else."""
    if _HANDOFF.search(text):
        return "handoff"
    if _REORDER.search(text):
        return "suggest_reorder"
    return None
