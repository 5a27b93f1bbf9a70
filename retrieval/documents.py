"""Turns products and policies into the searchable documents that the indexes hold.

Policies are split into chunks with langchain-text-splitters so a hit points at the paragraph that
answers, not a whole page; products are one document each.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from langchain_core.documents import Document
from langchain_text_splitters import MarkdownHeaderTextSplitter, RecursiveCharacterTextSplitter

from retrieval.schema import Policy, Product

POLICY_CHUNK_CHARS = 450
POLICY_CHUNK_OVERLAP = 80
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\[(*])")
_BULLET = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")


@dataclass(frozen=True)
class SearchDoc:
    """One indexed unit. `id` is unique in its index; `source_id` is the product or policy it came from."""

    id: str
    source_id: str
    kind: str  # "product" | "policy"
    title: str
    text: str
    metadata: dict = field(default_factory=dict, compare=False, hash=False)


def product_text(p: Product) -> str:
    parts = [p.name]
    if p.brand:
        parts.append(f"by {p.brand}")
    if p.size:
        parts.append(p.size)
    head = ", ".join(parts)
    tags = ", ".join(p.tag_list)
    return " ".join(x for x in [f"{head}.", f"{p.category}.", f"{tags}." if tags else "", p.description] if x)


def product_docs(products: Iterable[Product]) -> list[SearchDoc]:
    return [
        SearchDoc(
            id=p.id,
            source_id=p.id,
            kind="product",
            title=p.name,
            text=product_text(p),
            metadata={"brand": p.brand, "size": p.size, "category": p.category},
        )
        for p in products
    ]


def _titled_sections(policy: Policy) -> Iterator[tuple[Document, str | None, str]]:
    """A policy's `##` sections, each with its section name and its title ("Returns — How to return")."""
    for part in MarkdownHeaderTextSplitter([("##", "section")], strip_headers=True).split_text(policy.body):
        section = part.metadata.get("section")
        yield part, section, f"{policy.title} — {section}" if section else policy.title


def policy_docs(policies: Iterable[Policy]) -> list[SearchDoc]:
    char_splitter = RecursiveCharacterTextSplitter(chunk_size=POLICY_CHUNK_CHARS, chunk_overlap=POLICY_CHUNK_OVERLAP)
    docs: list[SearchDoc] = []
    for policy in policies:
        chunks = [
            (chunk, section, title)
            for part, section, title in _titled_sections(policy)
            for chunk in char_splitter.split_documents([part])
        ]
        for n, (chunk, section, title) in enumerate(chunks):
            docs.append(
                SearchDoc(
                    id=f"{policy.id}#{n}",
                    source_id=policy.id,
                    kind="policy",
                    title=title,
                    text=f"{title}. {chunk.page_content.strip()}",
                    metadata={"section": section, "policy_title": policy.title},
                )
            )
    return docs


def plain(text: str) -> str:
    """Markdown emphasis and links as the words a shopper reads ("**Account > Orders**" -> "Account > Orders")."""
    text = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", text)
    return re.sub(r"\s+", " ", re.sub(r"(\*\*|__|`)", "", text)).strip()


def section_sentences(section: str | None, body: str) -> list[str]:
    """A policy section's sentences as a shopper would read them: paragraphs split at sentence ends, a list of
    plain items ("gift cards") as one sentence under the section's name, a bullet that says something of its
    own ("Phone: 1-800-...", "Best match (the default): ...") as a sentence."""
    sentences: list[str] = []
    for paragraph in re.split(r"\n\s*\n", body):
        prose: list[str] = []
        bullets: list[str] = []
        for line in (line for line in paragraph.splitlines() if line.strip()):
            if _BULLET.match(line):
                bullets.append(_BULLET.sub("", line))
            elif bullets:
                bullets[-1] += f" {line.strip()}"  # a bullet's wrapped line
            else:
                prose.append(line)
        if prose:
            sentences += [plain(x) for x in _SENTENCE_END.split(plain(" ".join(prose))) if x.strip()]
        bullets = [plain(b) for b in bullets]
        if bullets and all(": " not in b and ". " not in b.rstrip(".") for b in bullets):
            lead = f"{section}: " if section else ""
            sentences.append(f"{lead}{'; '.join(b.rstrip('.') for b in bullets)}.")
        else:
            sentences += [b if b.endswith((".", "!", "?")) else f"{b}." for b in bullets]
    return [x for x in sentences if len(x.split()) > 2]


def policy_sentence_docs(policies: Iterable[Policy]) -> list[SearchDoc]:
    """Every sentence of every section of every policy, to pick the ones that answer a question. A section's
    title is never one of them (it names what the sentences answer, it answers nothing), but it is searched
    with each: "return window?" finds "You can return ... within 30 days" through "Non-perishable items: 30 days"."""
    docs: list[SearchDoc] = []
    for policy in policies:
        n = 0
        for part, section, title in _titled_sections(policy):
            body = re.sub(r"^#\s.*$", "", part.page_content, flags=re.MULTILINE)
            for sentence in section_sentences(section, body):
                docs.append(
                    SearchDoc(
                        id=f"{policy.id}.{n}",
                        source_id=policy.id,
                        kind="policy_sentence",
                        title=title,
                        text=f"{title}: {sentence}",
                        metadata={
                            "sentence": sentence,
                            "section": section,
                            "policy_title": policy.title,
                            "position": n,
                        },
                    )
                )
                n += 1
    return docs
