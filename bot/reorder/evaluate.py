"""Offline evaluation of reorder recommendations on Instacart-format order histories, and a latency benchmark.

Protocol (`evaluate_orders_csv`): for every user the last order is the target. Only the user's earlier
orders are used, plus the target order's own `days_since_prior_order`, `order_dow` and
`order_hour_of_day` ("now"); never its products. The target set is the products of the last order that
the user had bought before. Per user F1 of the proposed basket (an empty target scores 1 for an empty
basket, else 0); recall@10 and NDCG@10 of the ranked list over users with a non-empty target.

No leakage: product-level statistics come from non-target orders only, and for every user leave that
user's own orders out; the learned ranker is cross-fitted, k folds by user, each fold's model trained
only on the other folds' users (whose full histories, last orders included, supply training targets).
"""

from __future__ import annotations

import csv
import json
import math
import statistics
import time
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import numpy as np

from bot.reorder.recommend import (
    Basket,
    Now,
    ProductStats,
    Ranker,
    _contributions,
    fit_ranker,
    history_from_rows,
    now_from,
    recommend_reorder,
    train_ranker,
    training_examples,
)

K = 10


REQUIRED_COLUMNS = (
    "order_id",
    "user_id",
    "order_number",
    "order_dow",
    "order_hour_of_day",
    "days_since_prior_order",
    "product_id",
    "add_to_cart_order",
)


class OrdersCsvError(ValueError):
    """An order history file that cannot be evaluated; the message names the file and what to fix."""


def load_instacart_histories(path: str | Path) -> dict[str, list[Basket]]:
    """user_id -> that user's orders as Baskets (oldest first); `day` accumulates days_since_prior_order.

    Raises OrdersCsvError naming the file and the missing columns, or the file:line of a bad value.
    """
    orders: dict[str, dict[int, dict]] = defaultdict(dict)
    try:
        fh = open(path, newline="")
    except OSError as exc:
        raise OrdersCsvError(f"{path}: cannot read the order history file ({exc.strerror})") from exc
    with fh:
        reader = csv.DictReader(fh)
        missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or ())]
        if missing:
            found = ", ".join(reader.fieldnames or ()) or "none"
            raise OrdersCsvError(
                f"{path}: missing columns {', '.join(missing)} (an Instacart-format order "
                f"history file; its header has: {found})"
            )
        for row in reader:
            try:
                user = row["user_id"]
                num = int(row["order_number"])
                dow, hour, position = (
                    int(row["order_dow"]),
                    int(row["order_hour_of_day"]),
                    int(row["add_to_cart_order"]),
                )
                dsp = row["days_since_prior_order"].strip()
                dsp = float(dsp) if dsp else 0.0
                o = orders[user].get(num)
                if o is None:
                    o = orders[user][num] = {"id": row["order_id"], "dow": dow, "hour": hour, "dsp": dsp, "items": []}
                o["items"].append((position, row["product_id"]))
            except (TypeError, ValueError) as exc:
                raise OrdersCsvError(
                    f"{path}:{reader.line_num}: bad value ({exc}); order_number, order_dow, "
                    "order_hour_of_day and add_to_cart_order must be integers and "
                    "days_since_prior_order a number or empty"
                ) from exc
    if not orders:
        raise OrdersCsvError(f"{path}: no order rows")
    out: dict[str, list[Basket]] = {}
    for user, by_num in orders.items():
        day = 0.0
        baskets = []
        for i, num in enumerate(sorted(by_num)):
            o = by_num[num]
            if i > 0:
                day += o["dsp"]
            items = tuple(dict.fromkeys(pid for _, pid in sorted(o["items"], key=lambda t: t[0])))
            baskets.append(Basket(o["id"], day, o["dow"], o["hour"], items))
        out[user] = baskets
    return out


# ------------------------------------------------------------------------------------------ metrics


def f1_score(basket: Sequence[str], target: set[str]) -> float:
    if not target:
        return 1.0 if not basket else 0.0
    hits = len(set(basket) & target)
    return 2.0 * hits / (len(set(basket)) + len(target)) if hits else 0.0


def recall_at(ranked: Sequence[str], target: set[str], k: int = K) -> float:
    return len(set(ranked[:k]) & target) / len(target)


def ndcg_at(ranked: Sequence[str], target: set[str], k: int = K) -> float:
    dcg = sum(1.0 / math.log2(i + 2) for i, pid in enumerate(ranked[:k]) if pid in target)
    idcg = sum(1.0 / math.log2(i + 2) for i in range(min(k, len(target))))
    return dcg / idcg


class _Scores:
    def __init__(self) -> None:
        self.f1: list[float] = []
        self.recall: list[float] = []
        self.ndcg: list[float] = []

    def add(self, ranked: Sequence[str], basket: Sequence[str], target: set[str]) -> None:
        self.f1.append(f1_score(basket, target))
        if target:
            self.recall.append(recall_at(ranked, target))
            self.ndcg.append(ndcg_at(ranked, target))

    def summary(self) -> dict:
        mean = lambda xs: round(float(np.mean(xs)), 4) if xs else 0.0  # noqa: E731
        return {"mean_f1": mean(self.f1), "recall_at_10": mean(self.recall), "ndcg_at_10": mean(self.ndcg)}


# ---------------------------------------------------------------------------------------- baselines


def repeat_last_order(history: Sequence[Basket]) -> tuple[list[str], list[str]]:
    """Propose the previous order again (ranked in its cart order)."""
    last = list(history[-1].items) if history else []
    return last, last


def recency_frequency(history: Sequence[Basket], decay: float = 0.8) -> tuple[list[str], list[str]]:
    """Rank by exponentially recency-weighted purchase frequency; propose as many items as the customer
    usually repeats per order (mean repeat items over the last 5 orders)."""
    scores: dict[str, float] = defaultdict(float)
    m = len(history)
    seen: set[str] = set()
    repeats = []
    for j, b in enumerate(history):
        w = decay ** (m - 1 - j)
        if j:
            repeats.append(sum(pid in seen for pid in b.items))
        for pid in b.items:
            scores[pid] += w
        seen.update(b.items)
    ranked = sorted(scores, key=lambda pid: -scores[pid])
    k = round(statistics.mean(repeats[-5:])) if repeats else 1
    return ranked, ranked[:k]


# --------------------------------------------------------------------------------------- evaluation


def _folds(users: Sequence[str], k: int, seed: int) -> list[list[int]]:
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(users))
    return [sorted(perm[i::k].tolist()) for i in range(k)]


def evaluate_orders_csv(
    path: str | Path,
    folds: int = 5,
    ranker: Ranker | None = None,
    use_ranker: bool = True,
    targets_per_customer: int | None = None,
    seed: int = 0,
    progress: bool = True,
    max_users: int | None = None,
    max_train_rows: int = 2_000_000,
    max_targets: int = 30_000,
) -> dict:
    """Evaluate on an Instacart-format order history file; see the module docstring for the protocol.

    With `ranker` given (trained on other data), it scores every user; else, with `use_ranker`, a ranker
    is cross-fitted (`folds` folds by user); else the hand-set heuristic is used. The cross-fitted ranker
    learns from every order of the training users (`targets_per_customer=None`) unless that exceeds
    `max_targets` training targets, when each user's last few orders are used instead (large files).
    """
    from tqdm.auto import tqdm

    t0 = time.perf_counter()
    histories = load_instacart_histories(path)
    users = sorted(histories, key=lambda u: (len(u), u))
    if max_users is not None:
        users = users[:max_users]
    full = [histories[u] for u in users]
    past = [h[:-1] for h in full]
    # product statistics from non-target orders only; each user's own orders are subtracted when scoring it
    stats = ProductStats.from_histories(past, max_neighbors=0)
    own = [_contributions(h)[0] for h in past]

    trainable = [i for i, h in enumerate(full) if len(h) >= 2]
    if ranker is not None:
        rankers = [ranker] * len(users)
        ranker_note = "given ranker (trained elsewhere)"
    elif use_ranker and len(trainable) >= 2 * max(folds, 2):
        # each user's training examples (targets among its own last orders, product statistics without
        # that user) are built once; a fold's model sees only the other folds' users
        if targets_per_customer is None and sum(len(full[i]) - 1 for i in trainable) > max_targets:
            targets_per_customer = max(3, max_targets // len(trainable))
        blocks: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for i in tqdm(trainable, desc="training examples", unit="user", disable=not progress):
            X, y, _ = training_examples([full[i]], stats, targets_per_customer, exclude_own=[own[i]])
            blocks[i] = (X.astype(np.float32), y.astype(np.float32))
        rng = np.random.default_rng(seed)
        rankers = [None] * len(users)
        for part in tqdm(_folds(users, folds, seed), desc="cross-fitting ranker", unit="fold", disable=not progress):
            held = set(part)
            train_idx = [i for i in blocks if i not in held]
            rows = sum(len(blocks[i][1]) for i in train_idx)
            if rows > max_train_rows:  # very large files: a random subset of the training users
                train_idx = sorted(
                    rng.choice(train_idx, size=int(len(train_idx) * max_train_rows / rows), replace=False).tolist()
                )
            model = fit_ranker(
                np.concatenate([blocks[i][0] for i in train_idx]),
                np.concatenate([blocks[i][1] for i in train_idx]),
                seed,
                info={"trained_on": {"customers": len(train_idx)}},
            )
            for i in part:
                rankers[i] = model
        targets = "every order" if targets_per_customer is None else f"the last {targets_per_customer} orders"
        ranker_note = (
            f"cross-fitted, {folds} folds by user (gradient-boosted trees; each fold's model trained "
            f"only on the other folds' users, {targets} of each as targets)"
        )
    else:
        rankers = [None] * len(users)
        ranker_note = "heuristic (no learned ranker)"

    ours, last_order, recfreq = _Scores(), _Scores(), _Scores()
    for i in tqdm(range(len(users)), desc="scoring users", unit="user", disable=not progress):
        h = past[i]
        target_order = full[i][-1]
        now = Now(target_order.day, target_order.dow, target_order.hour)
        bought_before = {pid for b in h for pid in b.items}
        target = set(target_order.items) & bought_before
        rec = recommend_reorder(h, now, limit=100, stats=stats, ranker=rankers[i], complements=0, exclude_own=own[i])
        ours.add([s.product_id for s in rec.items], [s.product_id for s in rec.basket], target)
        last_order.add(*repeat_last_order(h), target)
        recfreq.add(*recency_frequency(h), target)
    return {
        "users": len(users),
        **ours.summary(),
        "users_with_empty_target": len(users) - len(ours.recall),
        "ranker": ranker_note,
        "product_stats": "from non-target orders, each user's own orders left out",
        "baselines": {"repeat_last_order": last_order.summary(), "recency_frequency": recfreq.summary()},
        "seconds": round(time.perf_counter() - t0, 2),
    }


# ---------------------------------------------------------------------------------------- benchmark


def synthetic_history(
    orders: int = 100, staples: int = 30, catalog: int = 5000, one_offs: float = 3.0, seed: int = 0
) -> list[Basket]:
    """A plausible long history: personal staples, each with its own interval, plus occasional one-offs
    (100 orders give roughly 300 distinct products, like a real 100-order Instacart customer)."""
    rng = np.random.default_rng(seed)
    period = rng.uniform(1.0, 8.0, size=staples)  # in orders
    due = rng.uniform(0.0, period)
    day = 0.0
    out = []
    for j in range(orders):
        if j:
            day += float(rng.integers(2, 15))
        take = [f"S{seed}-{i}" for i in range(staples) if j >= due[i] and rng.random() < 0.8]
        for i in range(staples):
            if f"S{seed}-{i}" in take:
                due[i] = j + period[i] * rng.uniform(0.7, 1.3)
        extra = [f"P{int(x)}" for x in rng.integers(0, catalog, size=rng.poisson(one_offs))]
        items = tuple(dict.fromkeys(take + extra)) or (f"S{seed}-0",)
        out.append(Basket(f"O{j}", day, int(rng.integers(0, 7)), int(rng.integers(7, 22)), items))
    return out


def bench_reorder(
    orders: int = 100, repeats: int = 300, ranker: Ranker | str | Path | None = "train", print_json: bool = True
) -> dict:
    """Latency of one `recommend_reorder` call for a customer with `orders` orders (p50/p90 in ms).

    `ranker="train"` fits a ranker on synthetic customers first (not timed) so the learned path is timed.
    """
    histories = [synthetic_history(orders, seed=s) for s in range(1, 41)]
    stats = ProductStats.from_histories(histories)
    if isinstance(ranker, str) and ranker == "train":
        ranker = train_ranker(histories[:30], stats, targets_per_customer=4)
    elif isinstance(ranker, (str, Path)):
        ranker = Ranker.load(ranker)
    history = synthetic_history(orders, seed=0)
    now = Now(history[-1].day + 7, 2, 10)
    result: dict = {"orders": orders, "candidates": len({p for b in history for p in b.items})}
    for name, r in (("heuristic", None), ("ranker", ranker)):
        if name == "ranker" and r is None:
            continue
        recommend_reorder(history, now, stats=stats, ranker=r)
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            recommend_reorder(history, now, stats=stats, ranker=r)
            times.append((time.perf_counter() - t) * 1000)
        times.sort()
        result[name] = {"p50_ms": round(times[len(times) // 2], 3), "p90_ms": round(times[int(len(times) * 0.9)], 3)}
    if print_json:
        print(json.dumps(result))
    return result


def _percentiles(times_ms: list[float]) -> dict:
    arr = np.asarray(times_ms)
    return {"p50_ms": round(float(np.percentile(arr, 50)), 3), "p95_ms": round(float(np.percentile(arr, 95)), 3)}


def bench_store(
    store,
    stats: ProductStats | None,
    ranker: Ranker | None,
    customer_id: str | None = None,
    repeats: int = 300,
    limit: int = 10,
    moment: datetime | None = None,
) -> dict:
    """Latency of one recommendation for a shop customer, read from the store (default: the customer with
    the most completed orders), with and without the store query (p50/p95 wall-clock ms, and p50 CPU ms)."""
    from bot.reorder.train import store_histories

    if customer_id is None:
        histories = store_histories(store)
        if not histories:
            raise ValueError("the store has no completed orders; run `shopbot setup` to load the demo shop")
        customer_id = max(histories, key=lambda c: (len(histories[c]), c))
    moment = moment or datetime.now()

    def from_store() -> tuple[list[Basket], Now]:
        rows = store.purchase_rows(customer_id)
        history = history_from_rows(rows)
        return history, now_from(history, moment, rows[0][1])

    history, now = from_store()
    if not history:
        raise ValueError(f"customer {customer_id} has no completed orders")
    recommend_reorder(history, now, limit=limit, stats=stats, ranker=ranker)
    with_query, without_query, cpu_with, cpu_without = [], [], [], []
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        h, n = from_store()
        recommend_reorder(h, n, limit=limit, stats=stats, ranker=ranker)
        with_query.append((time.perf_counter() - t) * 1000)
        cpu_with.append((time.process_time() - c) * 1000)
        t, c = time.perf_counter(), time.process_time()
        recommend_reorder(history, now, limit=limit, stats=stats, ranker=ranker)
        without_query.append((time.perf_counter() - t) * 1000)
        cpu_without.append((time.process_time() - c) * 1000)
    return {
        "customer": customer_id,
        "orders": len(history),
        "candidates": len({pid for b in history for pid in b.items}),
        "ranker": ranker is not None,
        "repeats": repeats,
        "recommend_ms": _percentiles(without_query),
        "with_store_query_ms": _percentiles(with_query),
        # CPU time of this process: what the wall clock shows on a machine shared with other work
        "cpu_ms": {
            "recommend_p50_ms": _percentiles(cpu_without)["p50_ms"],
            "with_store_query_p50_ms": _percentiles(cpu_with)["p50_ms"],
        },
    }


def plot_comparison(result: dict, path: str | Path) -> Path:
    """A PNG bar chart of the recommender beside the baselines (mean F1, recall@10, NDCG@10)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = [("mean_f1", "mean F1"), ("recall_at_10", "recall@10"), ("ndcg_at_10", "NDCG@10")]
    systems = [("shopbot", result)] + [(name.replace("_", " "), r) for name, r in result["baselines"].items()]
    fig, ax = plt.subplots(figsize=(7, 3.6), dpi=100)
    width = 0.8 / len(systems)
    for k, (name, r) in enumerate(systems):
        xs = np.arange(len(metrics)) + (k - (len(systems) - 1) / 2) * width
        bars = ax.bar(xs, [r[m] for m, _ in metrics], width, label=name)
        ax.bar_label(bars, fmt="%.3f", fontsize=7)
    ax.set_xticks(np.arange(len(metrics)), [label for _, label in metrics])
    ax.set_ylim(0, 1)
    ax.set_title(f"Reorder recommendations, {result['users']} users (last order as target)", fontsize=10)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out)
    plt.close(fig)
    return out


def _main(argv: Sequence[str] | None = None) -> None:  # pragma: no cover - development helper
    import argparse

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("orders_csv", nargs="?")
    ap.add_argument("--bench", action="store_true")
    ap.add_argument("--heuristic", action="store_true")
    ap.add_argument("--folds", type=int, default=5)
    a = ap.parse_args(argv)
    if a.bench:
        bench_reorder()
    if a.orders_csv:
        print(json.dumps(evaluate_orders_csv(a.orders_csv, folds=a.folds, use_ranker=not a.heuristic)))


if __name__ == "__main__":  # pragma: no cover
    _main()
