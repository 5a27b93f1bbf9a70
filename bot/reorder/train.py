"""Training the reorder recommender's learned parts from a shop's own order histories.

`train_reorder_model` reads every customer's completed purchases through `Store.purchase_rows` (the one
query the recommender uses at serving time, so training and serving see the same histories), builds
`ProductStats` over all customers and fits the `Ranker` on each customer's own earlier orders, with that
customer's own purchases left out of the product statistics its examples see. The result is a folder
with `stats.json` and `ranker.npz` that `ProductStats.load` / `Ranker.load` (and the chat tool) read.
Nothing here runs at import time.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import select

from bot.reorder.recommend import (
    RANKER_FILE,
    STATS_FILE,
    Basket,
    ProductStats,
    Ranker,
    _contributions,
    history_from_rows,
    train_ranker,
)
from retrieval.schema import Customer
from retrieval.store import Store


def store_histories(store: Store, progress: bool = False) -> dict[str, list[Basket]]:
    """customer_id -> that customer's completed orders as Baskets, for every customer in the store."""
    from tqdm.auto import tqdm

    with store.session() as s:
        ids = list(s.scalars(select(Customer.id).order_by(Customer.id)))
    out = {}
    for cid in tqdm(ids, desc="reading order histories", unit="customer", disable=not progress):
        history = history_from_rows(store.purchase_rows(cid))
        if history:
            out[cid] = history
    return out


def train_from_histories(
    histories: Sequence[Sequence[Basket]], seed: int = 0, progress: bool = False, **params
) -> tuple[ProductStats, Ranker]:
    """ProductStats over all histories, and a ranker fitted on every customer's own earlier orders."""
    if sum(len(h) >= 2 for h in histories) < 2:
        raise ValueError("need at least two customers with two or more completed orders to train a ranker")
    stats = ProductStats.from_histories(histories)
    own = [_contributions(h)[0] for h in histories]
    ranker = train_ranker(
        histories, stats, targets_per_customer=None, seed=seed, exclude_own=own, progress=progress, **params
    )
    return stats, ranker


def train_reorder_model(store: Store, out_dir: str | Path, seed: int = 0, progress: bool = False, **params) -> dict:
    """Train on the store's histories and write `stats.json` + `ranker.npz` into `out_dir`; returns a summary."""
    started = time.perf_counter()
    histories = store_histories(store, progress)
    stats, ranker = train_from_histories(list(histories.values()), seed=seed, progress=progress, **params)
    ranker.info["trained_on"].update(
        {
            "source": "shop order histories (Store.purchase_rows)",
            "histories_sha256": _fingerprint(histories),
            "seed": seed,
        }
    )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stats.save(out / STATS_FILE)
    ranker.save(out / RANKER_FILE)
    return {
        "customers": len(histories),
        "orders": sum(len(h) for h in histories.values()),
        "products": len(stats.ids),
        "training_rows": ranker.info["rows"],
        "trees": len(ranker.roots),
        "out_dir": str(out),
        "bytes": {name: (out / name).stat().st_size for name in (STATS_FILE, RANKER_FILE)},
        "seconds": round(time.perf_counter() - started, 2),
    }


def _fingerprint(histories: dict[str, list[Basket]]) -> str:
    digest = hashlib.sha256()
    for cid, history in histories.items():
        for b in history:
            digest.update(f"{cid}\x1f{b.order_id}\x1f{b.day:.6f}\x1f{','.join(b.items)}\n".encode())
    return digest.hexdigest()[:16]
