"""Reorder recommendations: what a shopper should buy again now, why, and what goes with it.

Pure Python/numpy; no language model and no database. The caller hands in one customer's past orders
(`Basket`s, oldest first) and the moment of the request (`Now`); `recommend_reorder` returns

* `items`: previously bought products ranked by the probability that the next order contains them,
  each with a reason a shopper understands ("you buy this about every 9 days; last time was 11 days ago");
* `basket`: the top-k of those items whose size k (0 included) maximises the expected F1 against the
  next order, computed exactly from the per-item probabilities (Jansche / Nan Ye et al.);
* `complements`: "goes well with" products from cross-customer co-purchase counts, never repeating
  `items` or `basket`.

Probabilities come from a `Ranker` (a small gradient-boosted tree ensemble trained with `train_ranker`
on customers' earlier orders, stored as a compact .npz and evaluated here with numpy) when one is given,
else from a hand-set logistic formula on a few robust signals (`heuristic_probabilities`).
Cross-customer signals (product reorder rates, typical repurchase interval, co-purchases) come from
`ProductStats`, built with `ProductStats.from_histories` and saved/loaded as JSON.
"""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from retrieval.store import Store

STATS_FILE = "stats.json"  # ProductStats inside a reorder model folder
RANKER_FILE = "ranker.npz"  # Ranker inside a reorder model folder

__all__ = [
    "STATS_FILE",
    "RANKER_FILE",
    "Basket",
    "Now",
    "Suggestion",
    "Recommendation",
    "ProductStats",
    "Ranker",
    "Features",
    "recommend_reorder",
    "history_from_rows",
    "now_from",
    "customer_features",
    "heuristic_probabilities",
    "expected_f1_curve",
    "select_basket",
    "training_examples",
    "fit_ranker",
    "train_ranker",
    "FEATURE_NAMES",
]


# --------------------------------------------------------------------------------------------- data


@dataclass(frozen=True)
class Basket:
    """One past order."""

    order_id: str
    day: float  # days since the customer's first order (monotone non-decreasing)
    dow: int  # day of week 0-6
    hour: int  # 0-23
    items: tuple[str, ...]  # product ids in cart order


@dataclass(frozen=True)
class Now:
    """The moment of the request, on the same clock as `Basket.day`."""

    day: float
    dow: int
    hour: int


@dataclass(frozen=True)
class Suggestion:
    product_id: str
    score: float  # probability that the next order contains it (complements: association strength)
    reason: str


@dataclass(frozen=True)
class Recommendation:
    items: list[Suggestion]  # ranked reorder candidates (up to limit)
    basket: list[Suggestion]  # the top-k of items worth proposing now, k maximising expected F1 (may be empty)
    complements: list[Suggestion]  # "goes well with", never duplicating items/basket
    expected_f1: float = 0.0  # expected F1 of `basket` under the item probabilities


def history_from_rows(rows: Iterable[tuple[str, datetime, str]]) -> list[Basket]:
    """Baskets from (order_id, placed_at, product_id) rows ordered by placed_at (cart order kept).

    `day` counts days (fractional) from the first order; `dow` is `placed_at.weekday()`; a product
    listed twice in one order counts once.
    """
    orders: dict[str, tuple[datetime, list[str]]] = {}
    for order_id, placed_at, product_id in rows:
        entry = orders.get(order_id)
        if entry is None:
            entry = orders[order_id] = (placed_at, [])
        if product_id not in entry[1]:
            entry[1].append(product_id)
    if not orders:
        return []
    ordered = sorted(orders.items(), key=lambda kv: kv[1][0])  # stable: ties keep row order
    first = ordered[0][1][0]
    return [
        Basket(
            order_id=oid, day=(at - first).total_seconds() / 86400.0, dow=at.weekday(), hour=at.hour, items=tuple(items)
        )
        for oid, (at, items) in ordered
    ]


def now_from(history: Sequence[Basket], moment: datetime, first_order_at: datetime) -> Now:
    """`Now` for a request at `moment`, on the clock of a history whose first order was at `first_order_at`."""
    day = (moment - first_order_at).total_seconds() / 86400.0
    if history:
        day = max(day, history[-1].day)
    return Now(day=day, dow=moment.weekday(), hour=moment.hour)


# ----------------------------------------------------------------------------------- product stats

# columns of ProductStats.counts
_BUYERS, _REPEAT_BUYERS, _PURCHASES, _REORDERS, _GAP_SUM, _GAP_N = range(6)
_PRIOR_WEIGHT = 5.0  # pseudo-observations pulling sparse product rates toward the shop-wide rate


def _contributions(history: Sequence[Basket]) -> tuple[dict[str, np.ndarray], Counter]:
    """Per product: one customer's additive contribution to ProductStats counts; plus co-purchase pairs."""
    seen: dict[str, list[float]] = {}
    pairs: Counter = Counter()
    for b in history:
        items = list(dict.fromkeys(b.items))
        for pid in items:
            days = seen.get(pid)
            if days is None:
                seen[pid] = [b.day]
            else:
                days.append(b.day)
        for i in range(len(items)):
            for j in range(i + 1, len(items)):
                a, c = items[i], items[j]
                pairs[(a, c) if a < c else (c, a)] += 1
    out = {}
    for pid, days in seen.items():
        n = len(days)
        out[pid] = np.array([1.0, float(n >= 2), n, n - 1, days[-1] - days[0], n - 1], dtype=np.float64)
    return out, pairs


@dataclass
class ProductStats:
    """Cross-customer statistics: product reorder rates, typical repurchase intervals, co-purchases.

    `counts[i]` holds, for product `ids[i]`: customers who bought it, customers who bought it twice or
    more, purchases, repeat purchases, summed and counted repurchase gaps in days. `neighbors[pid]` lists
    the products most often bought in the same order as `pid` with their association strength
    (co-orders / sqrt(orders_a * orders_b)).
    """

    ids: list[str]
    counts: np.ndarray
    neighbors: dict[str, list[tuple[str, float]]] = field(default_factory=dict)
    customers: int = 0
    _index: dict[str, int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.counts = np.asarray(self.counts, dtype=np.float64).reshape(-1, 6)
        self._index = {pid: i for i, pid in enumerate(self.ids)}
        tot = self.counts.sum(axis=0) if len(self.ids) else np.zeros(6)
        self.global_reorder_rate = float((tot[_REORDERS] + 1.0) / (tot[_PURCHASES] + 2.0))
        self.global_repeat_rate = float((tot[_REPEAT_BUYERS] + 1.0) / (tot[_BUYERS] + 2.0))
        self.global_gap_days = float((tot[_GAP_SUM] + 10.0) / (tot[_GAP_N] + 1.0))

    @classmethod
    def from_histories(
        cls, histories: Iterable[Sequence[Basket]], max_neighbors: int = 20, min_pair_count: int = 2
    ) -> ProductStats:
        """Statistics over many customers' histories (each a sequence of Baskets, oldest first)."""
        totals: dict[str, np.ndarray] = {}
        pairs: Counter = Counter()
        customers = 0
        for history in histories:
            customers += 1
            contrib, p = _contributions(history)
            for pid, row in contrib.items():
                cur = totals.get(pid)
                totals[pid] = row if cur is None else cur + row
            pairs.update(p)
        ids = sorted(totals)
        counts = np.array([totals[i] for i in ids]) if ids else np.zeros((0, 6))
        orders = {pid: totals[pid][_PURCHASES] for pid in ids}
        nb: dict[str, list[tuple[str, float]]] = defaultdict(list)
        for (a, c), n in pairs.items():
            if n < min_pair_count:
                continue
            s = n / math.sqrt(orders[a] * orders[c])
            nb[a].append((c, s))
            nb[c].append((a, s))
        neighbors = {
            pid: [(q, round(s, 4)) for q, s in sorted(lst, key=lambda t: (-t[1], t[0]))[:max_neighbors]]
            for pid, lst in nb.items()
        }
        return cls(ids=ids, counts=counts, neighbors=neighbors, customers=customers)

    def rows(self, product_ids: Sequence[str], exclude: dict[str, np.ndarray] | None = None) -> np.ndarray:
        """Counts for these products (zeros when unknown), minus one customer's own `exclude` contribution."""
        out = np.zeros((len(product_ids), 6))
        idx = self._index
        for k, pid in enumerate(product_ids):
            i = idx.get(pid)
            if i is not None:
                out[k] = self.counts[i]
                if exclude is not None and pid in exclude:
                    out[k] -= exclude[pid]
        np.maximum(out, 0.0, out=out)
        return out

    def save(self, path: str | Path) -> None:
        data = {
            "format": "shopbot.product_stats.v1",
            "customers": self.customers,
            "ids": self.ids,
            "counts": [[round(float(v), 3) for v in row] for row in self.counts],
            "neighbors": {pid: [[q, s] for q, s in lst] for pid, lst in self.neighbors.items()},
        }
        Path(path).write_text(json.dumps(data, separators=(",", ":")))

    @classmethod
    def load(cls, path: str | Path) -> ProductStats:
        data = json.loads(Path(path).read_text())
        if data.get("format") != "shopbot.product_stats.v1":
            raise ValueError(f"{path} is not a shopbot product-stats file")
        return cls(
            ids=list(data["ids"]),
            counts=np.array(data["counts"], dtype=np.float64).reshape(-1, 6),
            neighbors={pid: [(q, float(s)) for q, s in lst] for pid, lst in data["neighbors"].items()},
            customers=int(data["customers"]),
        )


# ---------------------------------------------------------------------------------------- features

FEATURE_NAMES = (
    "count",  # times this customer bought the product
    "share",  # count / orders
    "share_since_first",  # count / orders since the first purchase
    "orders_since_last",  # 1 = in the last order
    "days_since_last",  # days from the last purchase to now
    "in_last_3",
    "in_last_5",  # purchases in the customer's last 3 / 5 orders
    "decayed",  # sum of 0.7 ** (orders ago) over purchases
    "interval_days",  # the customer's own mean repurchase interval (-1: bought once)
    "overdue",  # days_since_last / interval_days (-1: bought once)
    "interval_orders",  # mean orders between purchases (-1: bought once)
    "overdue_orders",  # orders_since_last / interval_orders (-1: bought once)
    "dow_lift",  # share of its purchases on today's weekday over the customer's share of orders that weekday
    "user_orders",
    "user_products",
    "user_basket",
    "user_repeat_items",  # customer-level
    "user_repeat_ratio",  # share of basket items that were bought before
    "user_recent_repeat_items",  # mean repeat items in the last 3 orders
    "days_since_order",  # days since the customer's last order (the order-level context)
    "days_since_order_ratio",  # ... over the customer's mean gap between orders
    "product_reorder_rate",  # across customers: share of purchases that were repeats (smoothed)
    "product_repeat_rate",  # across customers: share of buyers who bought it again (smoothed)
    "product_buyers",  # log(1 + customers who bought it)
    "product_overdue",  # days_since_last / the typical repurchase interval across customers
)
_F = {name: i for i, name in enumerate(FEATURE_NAMES)}


@dataclass
class Features:
    """One customer's candidates (every product bought before) and their feature matrix."""

    product_ids: list[str]
    X: np.ndarray  # (candidates, len(FEATURE_NAMES))
    product_interval_days: np.ndarray  # typical repurchase interval across customers (for reasons)


def customer_features(
    history: Sequence[Basket], now: Now, stats: ProductStats | None = None, exclude: dict[str, np.ndarray] | None = None
) -> Features:
    """Feature matrix for every product in `history` (see FEATURE_NAMES), vectorised over candidates.

    `exclude` is the customer's own contribution to `stats` (from `_contributions`), subtracted so that
    product-level features describe other customers only (used in training and evaluation).
    """
    m = len(history)
    index: dict[str, int] = {}
    o_list: list[int] = []
    p_list: list[int] = []
    sizes = np.empty(m)
    for j, b in enumerate(history):
        items = dict.fromkeys(b.items)  # a product listed twice in one order counts once
        sizes[j] = len(items)
        p_list.extend([index.setdefault(pid, len(index)) for pid in items])
        o_list.extend([j] * len(items))
    P = len(index)
    pids = list(index)
    X = np.zeros((P, len(FEATURE_NAMES)))
    if P == 0:
        return Features(pids, X, np.zeros(0))
    o = np.asarray(o_list, dtype=np.int64)
    p = np.asarray(p_list, dtype=np.int64)
    day = np.fromiter((b.day for b in history), dtype=np.float64, count=m)
    dow = np.fromiter((b.dow for b in history), dtype=np.int64, count=m)

    cnt = np.bincount(p, minlength=P).astype(np.float64)
    first = np.full(P, m, dtype=np.int64)
    np.minimum.at(first, p, o)
    last = np.full(P, -1, dtype=np.int64)
    np.maximum.at(last, p, o)
    since_last = m - last  # orders since the last purchase (1 = last order)
    days_since = np.maximum(now.day - day[last], 0.0)
    many = cnt >= 2
    span_days = day[last] - day[first]
    interval = np.where(many, span_days / np.maximum(cnt - 1, 1), -1.0)
    interval_orders = np.where(many, (last - first) / np.maximum(cnt - 1, 1), -1.0)
    overdue = np.where(many, days_since / np.maximum(interval, 1.0), -1.0)
    overdue_orders = np.where(many, since_last / np.maximum(interval_orders, 1.0), -1.0)

    age = (m - 1 - o).astype(np.float64)
    in3 = np.bincount(p, weights=(age < 3).astype(np.float64), minlength=P)
    in5 = np.bincount(p, weights=(age < 5).astype(np.float64), minlength=P)
    decayed = np.bincount(p, weights=0.7**age, minlength=P)

    dow_orders = np.bincount(dow, minlength=7).astype(np.float64)
    on_dow = np.bincount(p, weights=(dow[o] == now.dow).astype(np.float64), minlength=P)
    user_dow_share = (dow_orders[now.dow % 7] + 1.0) / (m + 7.0)
    dow_lift = ((on_dow + user_dow_share) / (cnt + 1.0)) / user_dow_share

    repeat_flags = (first[p] < o).astype(np.float64)
    repeats_per_order = np.bincount(o, weights=repeat_flags, minlength=m)
    user_repeat_items = repeats_per_order[1:].mean() if m > 1 else 0.0
    user_recent_repeat = repeats_per_order[max(1, m - 3) :].mean() if m > 1 else 0.0
    user_repeat_ratio = repeat_flags[o >= 1].mean() if m > 1 and (o >= 1).any() else 0.0
    days_since_order = max(now.day - day[-1], 0.0)
    mean_gap = (day[-1] - day[0]) / (m - 1) if m > 1 else 0.0
    gap_ratio = days_since_order / max(mean_gap, 1.0)

    X[:, _F["count"]] = cnt
    X[:, _F["share"]] = cnt / m
    X[:, _F["share_since_first"]] = cnt / (m - first)
    X[:, _F["orders_since_last"]] = since_last
    X[:, _F["days_since_last"]] = days_since
    X[:, _F["in_last_3"]] = in3
    X[:, _F["in_last_5"]] = in5
    X[:, _F["decayed"]] = decayed
    X[:, _F["interval_days"]] = interval
    X[:, _F["overdue"]] = overdue
    X[:, _F["interval_orders"]] = interval_orders
    X[:, _F["overdue_orders"]] = overdue_orders
    X[:, _F["dow_lift"]] = dow_lift
    X[:, _F["user_orders"]] = m
    X[:, _F["user_products"]] = P
    X[:, _F["user_basket"]] = sizes.mean()
    X[:, _F["user_repeat_items"]] = user_repeat_items
    X[:, _F["user_repeat_ratio"]] = user_repeat_ratio
    X[:, _F["user_recent_repeat_items"]] = user_recent_repeat
    X[:, _F["days_since_order"]] = days_since_order
    X[:, _F["days_since_order_ratio"]] = gap_ratio

    if stats is not None:
        rows = stats.rows(pids, exclude)
        a = _PRIOR_WEIGHT
        reorder_rate = (rows[:, _REORDERS] + a * stats.global_reorder_rate) / (rows[:, _PURCHASES] + a)
        repeat_rate = (rows[:, _REPEAT_BUYERS] + a * stats.global_repeat_rate) / (rows[:, _BUYERS] + a)
        gap = (rows[:, _GAP_SUM] + a * stats.global_gap_days) / (rows[:, _GAP_N] + a)
        buyers = np.log1p(rows[:, _BUYERS])
    else:
        reorder_rate = np.full(P, -1.0)
        repeat_rate = np.full(P, -1.0)
        gap = np.full(P, -1.0)
        buyers = np.full(P, -1.0)
    X[:, _F["product_reorder_rate"]] = reorder_rate
    X[:, _F["product_repeat_rate"]] = repeat_rate
    X[:, _F["product_buyers"]] = buyers
    X[:, _F["product_overdue"]] = np.where(gap > 0, days_since / np.maximum(gap, 1.0), -1.0)
    return Features(pids, X, gap)


# -------------------------------------------------------------------------------------- heuristic


def heuristic_probabilities(X: np.ndarray) -> np.ndarray:
    """Fixed logistic formula on a few robust signals, used when no trained Ranker is given.

    Recency-weighted frequency (the strongest signal), share of orders, recency in orders, whether the
    customer's own repurchase interval has come round (peaks when due now), the product's reorder rate
    across customers, and how many items this customer usually repeats and how long it has been since
    their last order (these two set the overall level, hence the basket size). The weights are rounded
    from a logistic fit on held-out real order histories and kept fixed here.
    """
    f = _F
    m = X[:, f["user_orders"]]
    share = (X[:, f["count"]] + 0.5) / (m + 1.0)
    od = X[:, f["overdue"]]
    due = np.where(od >= 0, np.exp(-0.5 * np.log(np.maximum(od, 0.05)) ** 2), 0.5)
    pr = X[:, f["product_reorder_rate"]]
    pr = np.where(pr >= 0, pr, 0.6)  # no cross-customer statistics: a typical reorder rate
    z = (
        -4.0
        + 2.4 * np.log1p(X[:, f["decayed"]])
        + 0.3 * np.log(share / (1.0 - share))
        - 0.4 * np.log1p(X[:, f["in_last_3"]])
        - 0.12 * np.log(X[:, f["orders_since_last"]])
        + 0.9 * due
        + 1.3 * pr
        + 0.2 * np.log(X[:, f["user_recent_repeat_items"]] + 0.5)
        + 0.2 * np.log1p(X[:, f["days_since_order_ratio"]])
        - 0.08 * np.log(X[:, f["user_products"]])
    )
    return 1.0 / (1.0 + np.exp(-z))


# ------------------------------------------------------------------------------------------ ranker


class Ranker:
    """A gradient-boosted tree ensemble (trained by scikit-learn, evaluated with numpy) over FEATURE_NAMES.

    All trees are stored flat; a leaf's children point to itself, so every row walks every tree in
    lock-step for `depth` steps.
    """

    def __init__(
        self,
        feature: np.ndarray,
        threshold: np.ndarray,
        children: np.ndarray,
        value: np.ndarray,
        roots: np.ndarray,
        depth: int,
        baseline: float,
        feature_names: Sequence[str],
        info: dict | None = None,
    ) -> None:
        self.feature = np.asarray(feature, dtype=np.int64)
        self.threshold = np.asarray(threshold, dtype=np.float64)
        self.children = np.asarray(children, dtype=np.int64)  # (nodes, 2): [go right, go left]
        self.value = np.asarray(value, dtype=np.float64)
        self.roots = np.asarray(roots, dtype=np.int64)
        self.depth = int(depth)
        self.baseline = float(baseline)
        self.feature_names = tuple(feature_names)
        self.info = dict(info or {})
        if self.feature_names != FEATURE_NAMES:
            raise ValueError("this ranker was trained on a different feature set; retrain it")
        self._flat_children = self.children.reshape(-1)

    @classmethod
    def from_sklearn(cls, model, info: dict | None = None) -> Ranker:
        """Export a fitted HistGradientBoostingClassifier (binary, numeric features)."""
        feats, thrs, kids, vals, roots = [], [], [], [], []
        offset = 0
        depth = 0
        for (predictor,) in model._predictors:
            nodes = predictor.nodes
            n = len(nodes)
            leaf = nodes["is_leaf"].astype(bool)
            idx = np.arange(n) + offset
            left = np.where(leaf, idx, nodes["left"].astype(np.int64) + offset)
            right = np.where(leaf, idx, nodes["right"].astype(np.int64) + offset)
            feats.append(np.where(leaf, 0, nodes["feature_idx"]).astype(np.int64))
            thrs.append(np.where(leaf, 0.0, nodes["num_threshold"]).astype(np.float64))
            kids.append(np.stack([right, left], axis=1))
            vals.append(nodes["value"].astype(np.float64))
            roots.append(offset)
            depth = max(depth, int(nodes["depth"].max()))
            offset += n
        baseline = float(np.ravel(model._baseline_prediction)[0])
        return cls(
            np.concatenate(feats),
            np.concatenate(thrs),
            np.concatenate(kids),
            np.concatenate(vals),
            np.array(roots),
            depth,
            baseline,
            FEATURE_NAMES,
            info,
        )

    def raw(self, X: np.ndarray) -> np.ndarray:
        X = np.ascontiguousarray(X, dtype=np.float64)
        n, F = X.shape
        T = len(self.roots)
        node = np.tile(self.roots, n)
        base = np.repeat(np.arange(n, dtype=np.int64) * F, T)
        flat = X.reshape(-1)
        feature, threshold, kids = self.feature, self.threshold, self._flat_children
        for _ in range(self.depth):
            go_left = flat[base + feature[node]] <= threshold[node]
            node = kids[2 * node + go_left]
        return self.baseline + self.value[node].reshape(n, T).sum(axis=1)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.raw(X)))

    def save(self, path: str | Path) -> None:
        np.savez_compressed(
            path,
            feature=self.feature.astype(np.int16),
            threshold=self.threshold,
            children=self.children.astype(np.int32),
            value=self.value,
            roots=self.roots.astype(np.int32),
            depth=self.depth,
            baseline=self.baseline,
            feature_names=np.array(self.feature_names),
            info=json.dumps(self.info),
        )

    @classmethod
    def load(cls, path: str | Path) -> Ranker:
        with np.load(path, allow_pickle=False) as z:
            return cls(
                z["feature"],
                z["threshold"],
                z["children"],
                z["value"],
                z["roots"],
                int(z["depth"]),
                float(z["baseline"]),
                [str(s) for s in z["feature_names"]],
                json.loads(str(z["info"])),
            )


def training_examples(
    histories: Iterable[Sequence[Basket]],
    stats: ProductStats | None = None,
    targets_per_customer: int | None = None,
    min_history: int = 1,
    exclude_own: Sequence[dict[str, np.ndarray] | None] | None = None,
    progress: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(X, y, group) from customers' own earlier orders: each of a customer's last `targets_per_customer`
    orders (None: every order) with at least `min_history` orders before it is a target, its history
    being the orders before it; its candidates are the products bought before it, labelled 1 when the
    target order contains them. `group` numbers the targets.

    Every order as a target multiplies the examples a small shop's histories give (a customer with n
    orders yields n - 1 targets), which is what lets the ranker learn from a few hundred customers."""
    from tqdm.auto import tqdm

    Xs, ys, gs = [], [], []
    g = 0
    histories = list(histories)
    for u, history in enumerate(tqdm(histories, desc="training examples", unit="customer", disable=not progress)):
        own = exclude_own[u] if exclude_own is not None else None
        keep = len(history) if targets_per_customer is None else targets_per_customer
        start = max(min_history, len(history) - keep)
        for t in range(start, len(history)):
            target = history[t]
            feats = customer_features(history[:t], Now(target.day, target.dow, target.hour), stats, own)
            if not feats.product_ids:
                continue
            bought = set(target.items)
            Xs.append(feats.X)
            ys.append(
                np.fromiter(
                    (pid in bought for pid in feats.product_ids), dtype=np.float64, count=len(feats.product_ids)
                )
            )
            gs.append(np.full(len(feats.product_ids), g))
            g += 1
    if not Xs:
        return np.zeros((0, len(FEATURE_NAMES))), np.zeros(0), np.zeros(0, dtype=np.int64)
    return np.concatenate(Xs), np.concatenate(ys), np.concatenate(gs)


RANKER_PARAMS = dict(
    max_iter=120, learning_rate=0.08, max_depth=5, max_leaf_nodes=15, min_samples_leaf=100, l2_regularization=1.0
)


def fit_ranker(
    X: np.ndarray, y: np.ndarray, seed: int = 0, info: dict | None = None, threads: int | None = 1, **params
) -> Ranker:
    """Fit the gradient-boosted ranker on a feature matrix from `training_examples`.

    One OpenMP thread by default: on a small machine shared with other work, scikit-learn's spinning
    worker threads cost more CPU than they save and can stall for minutes when the cores are busy.
    `threads=None` uses every core."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from threadpoolctl import threadpool_limits

    if len(y) == 0 or y.min() == y.max():
        raise ValueError("not enough order history to train a ranker (need repeat purchases)")
    settings = {**RANKER_PARAMS, **params}
    model = HistGradientBoostingClassifier(**settings, early_stopping=False, random_state=seed)
    with threadpool_limits(limits=threads, user_api="openmp"):
        model.fit(X, y)
    return Ranker.from_sklearn(model, info={**(info or {}), "rows": int(len(y)), "params": settings})


def train_ranker(
    histories: Sequence[Sequence[Basket]],
    stats: ProductStats | None = None,
    path: str | Path | None = None,
    targets_per_customer: int | None = None,
    seed: int = 0,
    exclude_own: Sequence[dict[str, np.ndarray] | None] | None = None,
    progress: bool = False,
    **params,
) -> Ranker:
    """Fit the ranker on customers' earlier orders (see `training_examples`); save it to `path` if given.

    Train it on the shop's own customers (e.g. the demo shop's histories) with that shop's ProductStats,
    then load it with `Ranker.load` wherever recommendations are made.
    """
    X, y, _ = training_examples(histories, stats, targets_per_customer, exclude_own=exclude_own, progress=progress)
    ranker = fit_ranker(
        X,
        y,
        seed,
        info={"trained_on": {"customers": len(histories), "targets_per_customer": targets_per_customer}},
        **params,
    )
    if path is not None:
        ranker.save(path)
    return ranker


# ------------------------------------------------------------------------------- expected-F1 basket


def _poisson_binomial(p: np.ndarray, width: int) -> np.ndarray:
    """Distribution of the number of successes among independent Bernoulli(p), on 0..width-1."""
    dist = np.zeros(width)
    dist[0] = 1.0
    for j, pj in enumerate(p):
        top = j + 2
        dist[1:top] = dist[1:top] * (1.0 - pj) + dist[: top - 1] * pj
        dist[0] *= 1.0 - pj
    return dist


def _leave_one_out(dist: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Rows i: the distribution of S - X_i given that of S = sum X_j (X_i ~ Bernoulli(p_i)), by stable
    deconvolution written as one matrix product per direction: forward for p_i <= 1/2, backward above."""
    W = len(dist)
    out = np.zeros((len(p), W))
    lag = np.subtract.outer(np.arange(W), np.arange(W))  # lag[s, t] = s - t
    low = p <= 0.5
    if low.any():
        q = p[low]
        c = -q / (1.0 - q)  # |c| <= 1
        powers = c[:, None] ** np.arange(W)[None, :]  # (items, W)
        toeplitz = np.where(lag >= 0, dist[np.clip(lag, 0, W - 1)], 0.0).T  # toeplitz[t, s] = dist[s - t]
        out[low] = (powers @ toeplitz) / (1.0 - q)[:, None]
    high = ~low
    if high.any():
        q = p[high]
        d = -(1.0 - q) / q  # |d| < 1
        powers = d[:, None] ** np.arange(W)[None, :]
        # out[s] = (1/p) * sum_{u >= 0} d^u dist[s + 1 + u]
        ahead = np.arange(W)[:, None] + np.arange(W)[None, :] + 1  # ahead[u, s] = s + 1 + u
        hankel = np.where(ahead < W, dist[np.minimum(ahead, W - 1)], 0.0)
        out[high] = (powers @ hankel) / q[:, None]
    np.clip(out, 0.0, 1.0, out=out)
    return out


def expected_f1_curve(p: np.ndarray, tail: float = 0.0) -> np.ndarray:
    """Exact expected F1 of proposing the top-k items, for k = 0..n, given probabilities `p` sorted in
    descending order and assumed independent.

    k = 0 proposes nothing, which scores F1 = 1 exactly when the next order repeats none of the
    candidates (probability prod(1 - p)); `tail` is the summed probability of further candidates left out
    of `p` (treated as Poisson). For k >= 1, E[F1] = sum_{i<=k} 2 p_i E[1 / (k + 1 + S_-i)] where S_-i
    counts the other items that occur. The distribution of S is one O(n^2) dynamic programme; each
    S_-i follows from it by deconvolution, so the whole curve costs a few small matrix products.
    """
    p = np.clip(np.asarray(p, dtype=np.float64), 0.0, 1.0)
    n = len(p)
    tail = max(float(tail), 0.0)
    if n == 0:
        return np.array([math.exp(-tail)])
    extra = int(math.ceil(tail + 6.0 * math.sqrt(tail) + 3)) if tail > 1e-9 else 0
    W = n + 1 + extra
    dist = _poisson_binomial(p, W)
    if extra:
        s = np.arange(extra + 1)
        pois = np.exp(-tail + s * math.log(tail) - np.array([math.lgamma(v + 1) for v in s]))
        dist = np.convolve(dist, pois)[:W]
    D = _leave_one_out(dist, p)  # D[i, s] = P(S_-i = s)
    s = np.arange(W, dtype=np.float64)
    k = np.arange(1, n + 1, dtype=np.float64)
    G = D @ (1.0 / (k[None, :] + 1.0 + s[:, None]))  # G[i, k-1] = E[1 / (k + 1 + S_-i)]
    contrib = 2.0 * p[:, None] * G
    contrib *= np.arange(n)[:, None] < k[None, :]  # item i counts in top-k when i < k
    out = np.empty(n + 1)
    out[0] = float(dist[0])
    out[1:] = contrib.sum(axis=0)
    return out


def select_basket(p: Sequence[float], max_items: int = 50, max_k: int | None = None) -> tuple[int, float]:
    """(k, expected F1): how many of the items, taken in descending-probability order, to propose.

    Only the `max_items` most probable items are candidates (the rest enter as a Poisson tail), and
    k is at most `max_k` when given.
    """
    arr = np.sort(np.clip(np.asarray(p, dtype=np.float64), 0.0, 1.0))[::-1]
    head, tail = arr[:max_items], float(arr[max_items:].sum())
    curve = expected_f1_curve(head, tail)
    if max_k is not None:
        curve = curve[: max(max_k, 0) + 1]
    k = int(np.argmax(curve))
    return k, float(curve[k])


# ------------------------------------------------------------------------------------------ reasons


def _days(x: float) -> str:
    d = int(round(x))
    return "today" if d == 0 else ("1 day ago" if d == 1 else f"{d} days ago")


def _every(x: float) -> str:
    d = max(int(round(x)), 1)
    return "every day" if d == 1 else f"about every {d} days"


def _reason(X_row: np.ndarray, product_gap: float) -> str:
    f = _F
    cnt = int(X_row[f["count"]])
    m = int(X_row[f["user_orders"]])
    since = X_row[f["days_since_last"]]
    if cnt >= 2 and X_row[f["interval_days"]] >= 0.5:
        interval = X_row[f["interval_days"]]
        text = f"you buy this {_every(interval)}; last time was {_days(since)}"
        od = since / max(interval, 1.0)
        if od >= 1.5:
            text += " (overdue)"
        elif od >= 0.8:
            text += " (due about now)"
        return text
    if cnt >= 2:
        return f"you bought this in {cnt} of your {m} orders; last time was {_days(since)}"
    text = f"you bought this once, {_days(since)}"
    if product_gap > 0:
        text += f"; shoppers who buy it again usually do so {_every(product_gap)}"
    return text


# ---------------------------------------------------------------------------------------- recommend


def _probabilities(X: np.ndarray, ranker: Ranker | None, max_ranked: int) -> np.ndarray:
    """Ranker probabilities, or the heuristic's. For speed a ranker scores only the `max_ranked`
    candidates the heuristic likes best; the rest keep heuristic probabilities, capped below them."""
    heuristic = heuristic_probabilities(X)
    if ranker is None:
        return heuristic
    if len(X) <= max_ranked:
        return ranker.predict_proba(X)
    keep = np.argpartition(-heuristic, max_ranked - 1)[:max_ranked]
    probs = heuristic.copy()
    ranked = ranker.predict_proba(X[keep])
    rest = np.ones(len(X), dtype=bool)
    rest[keep] = False
    probs[rest] = np.minimum(probs[rest], ranked.min() * 0.999)
    probs[keep] = ranked
    return probs


def recommend_reorder(
    history: Sequence[Basket],
    now: Now,
    limit: int = 10,
    stats: ProductStats | None = None,
    ranker: Ranker | None = None,
    complements: int = 5,
    exclude_own: dict[str, np.ndarray] | None = None,
    max_ranked: int = 150,
) -> Recommendation:
    """Ranked reorder suggestions for one customer at `now`, the expected-F1 basket, and complements.

    `history` holds the customer's past orders, oldest first. `ranker` (optional) supplies trained
    probabilities; without it a hand-set formula is used. `exclude_own` (for evaluation) removes the
    customer's own contribution from `stats`.
    """
    if not history:
        return Recommendation([], [], [])
    feats = customer_features(history, now, stats, exclude_own)
    if not feats.product_ids:
        return Recommendation([], [], [])
    probs = _probabilities(feats.X, ranker, max_ranked)
    order = np.argsort(-probs, kind="stable")
    top = order[: max(limit, 0)]
    items = [
        Suggestion(
            feats.product_ids[i], round(float(probs[i]), 4), _reason(feats.X[i], float(feats.product_interval_days[i]))
        )
        for i in top
    ]
    k, ef1 = select_basket(probs[order], max_k=len(items))
    basket = items[:k]
    comps = _complements(stats, items, basket, complements) if stats is not None and complements > 0 else []
    return Recommendation(items, basket, comps, round(ef1, 4))


def _complements(stats: ProductStats, items: list[Suggestion], basket: list[Suggestion], n: int) -> list[Suggestion]:
    taken = {s.product_id for s in items} | {s.product_id for s in basket}
    anchors = basket or items[:3]
    scores: dict[str, float] = defaultdict(float)
    because: dict[str, tuple[float, str]] = {}
    for a in anchors:
        for q, s in stats.neighbors.get(a.product_id, ()):
            if q in taken:
                continue
            w = s * a.score
            scores[q] += w
            if q not in because or w > because[q][0]:
                because[q] = (w, a.product_id)
    ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
    return [Suggestion(q, round(s, 4), f"often bought together with {because[q][1]}") for q, s in ranked]


@dataclass(frozen=True)
class ReorderModel:
    """What the recommender learned from a shop's histories; both parts are optional (heuristics remain)."""

    stats: ProductStats | None = None
    ranker: Ranker | None = None

    @classmethod
    def load(cls, folder: str | Path | None) -> ReorderModel:
        if folder is None:
            return cls()
        folder = Path(folder)
        stats = ProductStats.load(folder / STATS_FILE) if (folder / STATS_FILE).is_file() else None
        ranker = Ranker.load(folder / RANKER_FILE) if (folder / RANKER_FILE).is_file() else None
        return cls(stats, ranker)


def recommend_for_customer(
    store: Store, model: ReorderModel, customer_id: str, moment: datetime, limit: int
) -> Recommendation:
    """The recommender over the customer's own completed purchases, as of `moment`."""
    rows = store.purchase_rows(customer_id)
    history = history_from_rows(rows)
    if not history:
        return Recommendation([], [], [])
    now = now_from(history, _naive(moment), _naive(rows[0][1]))
    return recommend_reorder(history, now, limit=limit, stats=model.stats, ranker=model.ranker)


def _naive(moment: datetime) -> datetime:
    return moment.replace(tzinfo=None) if moment.tzinfo else moment
