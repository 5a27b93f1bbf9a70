"""Whether the facts an answer states are the turn's facts: each price, stock count, order number, tracking
number and date the model wrote is looked up in what the turn read (products, policies, the shopper's own
orders, tool results) and, where the sentence names its item, checked to be that item's own: an order's
own tracking number and dates, a product's own price.

A small model copies from the wrong line of its prompt now and then (a neighbouring product's price, the
previous order's tracking number); this finds such slips in an answer. `shopbot eval answers` reports them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from bot.assistant.prompt import TurnContext

_PRICE = re.compile(r"\$\s?(\d{1,6}(?:[.,]\d{1,2})?)")
_ORDER = re.compile(r"\border(?:\s+(?:number|no\.?|id))?\s*#?\s*(\d{3,12})\b", re.IGNORECASE)
_TRACKING = re.compile(r"\b(?=[A-Z0-9-]{10,40}\b)(?=[A-Z0-9-]*\d)[A-Z0-9]+(?:-[A-Z0-9]+)*\b")
_STOCK = re.compile(
    r"\bin stock \((\d+)(?:\s+(?:available|left|units?))?\)|\b(\d+)\s+(?:are\s+|is\s+)?(?:available|in stock|left|units? left|on hand)\b",
    re.IGNORECASE,
)
_DATE = re.compile(r"\b(\d{4}-\d{2}-\d{2})\b")
# "in stock" as a claim, with whatever the model put in brackets after it ("in stock (out of stock)").
_IN_STOCK = re.compile(r"(?<!out of )(?<!not )(?<!not yet )\bin stock\b(?:\s*\([^)\d]*\))?", re.IGNORECASE)
_SENTENCE = re.compile(r"(?<=[.!?;])\s+")


@dataclass(frozen=True)
class Finding:
    """A fact the answer states that the turn's facts do not back."""

    kind: str  # price | stock | product | order | tracking | date
    text: str
    why: str
    right: str | None = None  # what the text should say, where the facts give exactly one answer


@dataclass
class Facts:
    """The turn's facts, indexed for lookup."""

    prices: set[Decimal] = field(default_factory=set)
    # (lower-cased "brand name", lower-cased name, price, stock) of each product the turn read
    products: list[tuple[str, str, Decimal | None, int | None]] = field(default_factory=list)
    orders: dict[str, dict[str, str | None]] = field(default_factory=dict)  # id -> tracking and dates
    foreign_orders: set[str] = field(default_factory=set)
    texts: str = ""  # policy and tool texts, where amounts and dates may be written out


def _money(text: str) -> Decimal | None:
    try:
        return Decimal(text.replace(",", ".")).quantize(Decimal("0.01"))
    except InvalidOperation:
        return None


def facts_of(ctx: TurnContext) -> Facts:
    facts = Facts(foreign_orders=set(ctx.foreign_orders))
    for p in ctx.products:
        price = _money(str(p.price)) if p.price is not None else None
        if price is not None:
            facts.prices.add(price)
        branded = f"{p.brand} {p.name}".lower() if p.brand else p.name.lower()
        facts.products.append((branded, p.name.lower(), price, int(p.stock) if p.stock is not None else None))
    for o in ctx.orders:
        facts.orders[o.id] = {
            "tracking": o.tracking_number,
            "dates": " ".join(filter(None, [o.placed_at, o.estimated_delivery, o.delivered_at])),
        }
        facts.prices.add(_money(str(o.total)))
        facts.prices.update(_money(str(line.unit_price)) for line in o.lines if line.unit_price is not None)
    texts = [d.text for d in ctx.policies]
    for _, result in ctx.tool_results:
        texts.append(result.text)
        for item in result.items:
            if item.get("price") is not None:
                facts.prices.add(_money(str(item["price"])))
                if item.get("name"):
                    name = str(item["name"]).lower()
                    branded = f"{item['brand']} {item['name']}".lower() if item.get("brand") else name
                    facts.products.append((branded, name, _money(str(item["price"])), None))
            if item.get("total") is not None:
                facts.prices.add(_money(str(item["total"])))
            if item.get("order_id"):
                facts.orders.setdefault(
                    str(item["order_id"]),
                    {
                        "tracking": item.get("tracking_number"),
                        "dates": " ".join(
                            str(item[k]) for k in ("placed_at", "estimated_delivery", "delivered_at") if item.get(k)
                        ),
                    },
                )
    facts.texts = "\n".join(texts)
    facts.prices.update(p for p in (_money(m) for m in _PRICE.findall(facts.texts)) if p is not None)
    return facts


def check(answer: str, ctx: TurnContext) -> list[Finding]:
    """The answer's unbacked facts, clause by clause (empty: every stated fact is the turn's own)."""
    facts = facts_of(ctx)
    findings: list[Finding] = []
    for sentence in _SENTENCE.split(answer):
        findings += _sentence(sentence, facts)
    return findings


def _said_of(lower: str, facts: Facts) -> list[tuple[str, str, Decimal | None, int | None]]:
    """The products a sentence names: by brand and name where it gives the brand, else by name (look-alikes
    of one name from several brands all count)."""
    branded = [p for p in facts.products if p[0] != p[1] and p[0] in lower]
    return branded or [p for p in facts.products if p[1] in lower]


def _sentence(sentence: str, facts: Facts) -> list[Finding]:
    found: list[Finding] = []
    named = _said_of(sentence.lower(), facts)
    for raw in _PRICE.findall(sentence):
        price = _money(raw)
        prices = {p[2] for p in named if p[2] is not None}
        right = f"${prices.pop():.2f}" if len(prices) == 1 else None
        if price not in facts.prices:
            found.append(Finding("price", f"${raw}", "no product, order or policy of this turn has this price", right))
        elif named and price not in {p[2] for p in named}:
            found.append(Finding("price", f"${raw}", f"not the price of the {named[0][1]} it is said of", right))
    for match in _STOCK.finditer(sentence):
        count = int(match.group(1) or match.group(2))
        stocks = {p[3] for p in named if p[3] is not None}
        if not named and facts.products:
            # a count said of no product the turn read: "Yes, the Duck Breast is in stock (22 available)"
            found.append(Finding("product", match.group(0), "a stock count for no product of this turn"))
        elif stocks and all(s <= 0 for s in stocks):
            found.append(Finding("stock", match.group(0), "a count for a product that is out of stock", "out of stock"))
        elif stocks and count not in stocks:
            right = match.group(0).replace(str(count), str(stocks.pop())) if len(stocks) == 1 else None
            found.append(Finding("stock", match.group(0), f"not the stock of the {named[0][1]}", right))
    stocks = {p[3] for p in named if p[3] is not None}
    if stocks and all(s <= 0 for s in stocks) and not _STOCK.search(sentence):
        for match in _IN_STOCK.finditer(sentence):
            found.append(
                Finding("stock", match.group(0), "said in stock of a product that is out of stock", "out of stock")
            )
    orders = list(dict.fromkeys(_ORDER.findall(sentence)))
    own = [o for o in orders if o in facts.orders]
    for order in orders:
        if order in facts.orders:
            continue
        if order in facts.foreign_orders:
            if _TRACKING.search(sentence) or _DATE.search(sentence):
                found.append(Finding("order", order, "another shopper's order given facts"))
        else:
            found.append(Finding("order", order, "not one of the shopper's orders"))
    for tracking in _TRACKING.findall(sentence):
        if not any(c.isalpha() for c in tracking) and (len(tracking) < 12 or "-" in tracking):
            continue  # a plain number (an order id) or digits in groups (a phone number) is not a tracking number
        owners = [o for o, f in facts.orders.items() if f["tracking"] == tracking]
        if not owners:
            if tracking not in facts.texts:
                right = facts.orders[own[0]]["tracking"] if len(own) == 1 else None
                found.append(Finding("tracking", tracking, "no order of the shopper's has this tracking number", right))
        elif len(own) == 1 and own[0] not in owners:
            right = facts.orders[own[0]]["tracking"]
            found.append(
                Finding("tracking", tracking, f"the tracking number of order {owners[0]}, not {own[0]}", right)
            )
    for date in _DATE.findall(sentence):
        holders = [o for o, f in facts.orders.items() if date in (f["dates"] or "")]
        if not holders:
            if date not in facts.texts:
                found.append(Finding("date", date, "no order or policy of this turn has this date"))
        elif len(own) == 1 and own[0] not in holders:
            found.append(Finding("date", date, f"a date of order {holders[0]}, not {own[0]}"))
    return found


# Where a fact or markup may begin: from here to the end of its sentence, text is held until it is checked.
_HOLD = re.compile(r"[\d$<\[]|\b\w+_\w+|\b[PCR]\d|\bin stock\b", re.IGNORECASE)
# Words a fact is followed by before it is checked: "in stock (32 available)" and "$3.49 each" are whole.
SETTLE_WORDS = 3
_LAST_IN = re.compile(r"\bin\s*$", re.IGNORECASE)
_SENTENCE_DONE = re.compile(r"[.!?](?=\s)|\n")
# Tags, bracketed ids and catalog or customer ids the model copies from its prompt or invents ("<P0012>",
# "[returns-and-refunds]", "<tool>", "</script>", "<# P0420", "C0002"): a shopper sees plain words.
_MARKUP = re.compile(r"</?[A-Za-z_|][^<>\n]{0,80}>|\[[A-Za-z0-9_#.-]{2,40}\]|<#\s*|\b[PC]\d{4,}\b\s?|\bR\d{3,}\b\s?")
UNSURE = "I can't confirm that from our records; a person from our team can check it for you."
# A tag as a browser would read one; "<" before a space or a digit ("under < $5", "<3") is a word.
_TAG = re.compile(r"<[/!?]?[A-Za-z_|][^<>]*>")
_MAY_BEGIN_TAG = re.compile(r"<(?:[/!?]?[A-Za-z_|]|[/!?]?$)")
# Elements whose content is code, not words: dropped with their tags ("<script>alert(1)</script>").
_CODE_ELEMENT = re.compile(r"<(script|style|iframe|object|embed|svg|math|template|noscript)\b", re.IGNORECASE)
MAX_TAG_CHARS = 300  # a "<" with no ">" this far on is a word, not a tag being written


class MarkupFilter:
    """Removes HTML tags, and the content of code elements, from text that streams in pieces.

    The answer reaches the widget, the OpenAI endpoint, the agents' API, the handoff webhook and the database;
    only the widget renders text safely, so tags are removed here, once, before any of them. A tag split
    across pieces (or across sentences: "<img src=x.png onerror=...>") is held until its ">"; inside a
    code element everything is held and dropped until the element closes, or the answer ends. `removed`
    lists what was taken out."""

    def __init__(self) -> None:
        self.pending = ""
        self.inside: str | None = None  # the code element being dropped
        self.removed: list[str] = []

    def feed(self, piece: str) -> str:
        self.pending += piece
        out = []
        while self.pending:
            if self.inside is not None:
                close = re.search(rf"</{self.inside}\s*>", self.pending, re.IGNORECASE)
                if close is None:
                    keep = len(self.inside) + 8  # what may still begin the closing tag
                    if len(self.pending) > keep:
                        self.removed.append(self.pending[:-keep])
                        self.pending = self.pending[-keep:]
                    break
                self.removed.append(self.pending[: close.end()])
                self.pending, self.inside = self.pending[close.end() :], None
                continue
            start = self.pending.find("<")
            if start < 0:
                out.append(self.pending)
                self.pending = ""
                break
            out.append(self.pending[:start])
            self.pending = self.pending[start:]
            tag = _TAG.match(self.pending)
            if tag is not None:
                self.removed.append(tag.group(0))
                element = _CODE_ELEMENT.match(tag.group(0))
                if element is not None and not tag.group(0).endswith("/>"):
                    self.inside = element.group(1).lower()
                self.pending = self.pending[tag.end() :]
            elif _MAY_BEGIN_TAG.match(self.pending) and ">" not in self.pending and len(self.pending) < MAX_TAG_CHARS:
                break  # wait for the rest of the tag
            else:
                out.append("<")
                self.pending = self.pending[1:]
        return "".join(out)

    def finish(self) -> str:
        """What is left: an unclosed code element's content is dropped, a "<" that never closed is a word."""
        rest = "" if self.inside is not None else self.pending
        if self.inside is not None and self.pending:
            self.removed.append(self.pending)
        self.pending, self.inside = "", None
        return rest


class Guard:
    """Checks the model's answer as it streams, before the shopper sees it.

    Text flows on as it comes until something that may be a fact (a digit, "$") or markup (a tag, an id in
    brackets, an internal name) starts; a word that may begin an internal name waits for its end. From
    there text is held until the fact is settled (`SETTLE_WORDS` more words, or the sentence's end: "in
    stock (32 available)" is one fact) and checked with the clause that names its item: markup is removed,
    internal names are put in words, and each fact the check finds unbacked is replaced with the value the
    facts give, or, where they give none, the rest of the sentence becomes a plain "I can't confirm that".
    `corrections` lists what was changed.
    """

    def __init__(self, ctx: TurnContext, internal_names: dict[str, str] | None = None) -> None:
        self.facts = facts_of(ctx)
        self.internal = internal_names or {}
        self.markup = MarkupFilter()
        self.sentence = ""
        self.released = 0
        self.dropping = False  # the sentence's rest is dropped after an "I can't confirm that"
        self.corrections: list[Finding] = []

    def feed(self, piece: str) -> str:
        """The part of the answer so far that may be shown now."""
        self.sentence += self._plain(piece)
        out = []
        while (end := _SENTENCE_DONE.search(self.sentence, self.released)) is not None:
            out.append(self._checked(self.sentence[: end.end()], final=True))
            self.sentence, self.released, self.dropping = self.sentence[end.end() :], 0, False
        if self.dropping:
            return "".join(out)
        hold = _HOLD.search(self.sentence, self.released)
        if hold:
            limit = self.sentence.rfind(" ", 0, hold.start()) + 1
        else:
            word = self.sentence[self.sentence.rfind(" ") + 1 :]
            beginning = word and any(name.startswith(word) for name in self.internal)
            limit = len(self.sentence) - len(word) if beginning else len(self.sentence)
            if (last_in := _LAST_IN.search(self.sentence, self.released)) is not None:
                limit = min(limit, last_in.start())  # "in" may begin "in stock (32)"
        if limit > self.released:
            out.append(self.sentence[self.released : limit])
            self.released = limit
        if hold and _settled(self.sentence[self.released :]):
            out.append(self._checked(self.sentence, final=False))
        return "".join(out)

    def finish(self) -> str:
        """The rest of the answer, checked."""
        self.sentence += self.markup.finish()
        self._note_markup()
        rest = self._checked(self.sentence, final=True) if self.sentence else ""
        self.sentence, self.released, self.dropping = "", 0, False
        return rest

    def _plain(self, piece: str) -> str:
        plain = self.markup.feed(piece)
        self._note_markup()
        return plain

    def _note_markup(self) -> None:
        if self.markup.removed:
            self.corrections.append(Finding("markup", "".join(self.markup.removed), "HTML the shopper should not see"))
            self.markup.removed.clear()

    def _checked(self, sentence: str, *, final: bool) -> str:
        """The held part of `sentence`, corrected; it counts as shown from then on."""
        if self.dropping:
            return ""
        shown, held = sentence[: self.released], sentence[self.released :]
        fixed = _MARKUP.sub("", held)
        if fixed != held:
            self.corrections.append(Finding("markup", held, "tags or ids the shopper should not see"))
        for name, words in self.internal.items():
            if name in fixed:
                fixed = fixed.replace(name, words)
                self.corrections.append(Finding("internal", name, "an internal name", words))
        findings = [f for clause in _SENTENCE.split(shown + fixed) for f in _sentence(clause, self.facts)]
        for finding in (f for f in findings if f.text in fixed):  # what was shown was checked before
            self.corrections.append(finding)
            if finding.right is not None:
                fixed = fixed.replace(finding.text, finding.right, 1)
            else:
                self.dropping = not final
                ending = "\n" if final and fixed.endswith("\n") else ""
                return (UNSURE if not shown.strip() else f"— {UNSURE}") + ending
        fixed = re.sub(r"  +", " ", fixed)
        if not final:
            self.sentence, self.released = shown + fixed, len(shown + fixed)
        return fixed


def _settled(held: str) -> bool:
    """Whether held text has gone on `SETTLE_WORDS` whole words past its last fact or markup."""
    starts = [m.start() for m in _HOLD.finditer(held)]
    return bool(starts) and len(held[starts[-1] :].split()) > SETTLE_WORDS and held[-1:].isspace()
