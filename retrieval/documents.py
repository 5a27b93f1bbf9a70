"""Turns products and policies into the searchable documents that the indexes hold.

Policies are split into chunks with langchain-text-splitters so a hit points at the paragraph that
answers, not a whole page; products are one document each.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from langchain_text_splitters import MarkdownHeaderTextSplitter, RecursiveCharacterTextSplitter

from retrieval.schema import Policy, Product

POLICY_CHUNK_CHARS = 450
POLICY_CHUNK_OVERLAP = 80


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


def policy_docs(policies: Iterable[Policy]) -> list[SearchDoc]:
    header_splitter = MarkdownHeaderTextSplitter([("##", "section")], strip_headers=True)
    char_splitter = RecursiveCharacterTextSplitter(chunk_size=POLICY_CHUNK_CHARS, chunk_overlap=POLICY_CHUNK_OVERLAP)
    docs: list[SearchDoc] = []
    for policy in policies:
        sections = header_splitter.split_text(policy.body)
        chunks = char_splitter.split_documents(sections)
        for n, chunk in enumerate(chunks):
            section = chunk.metadata.get("section")
            title = f"{policy.title} — {section}" if section else policy.title
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
