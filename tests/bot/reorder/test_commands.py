"""The reorder commands (`eval`, `train`, `bench reorder`) and the shipped artifact trained on the demo shop.

`data/instacart_synthetic.csv` is our own invented data in the Instacart order-history format (15 users
of personal staples and one-offs, written by `bot.reorder.evaluate.synthetic_history`), not derived from
the real Instacart files.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from bot.cli.main import app
from bot.reorder.recommend import (
    RANKER_FILE,
    STATS_FILE,
    ProductStats,
    Ranker,
    history_from_rows,
    now_from,
    recommend_reorder,
)
from bot.settings import SHIPPED_REORDER_MODEL
from retrieval.schema import Customer, Order, OrderItem, Product
from retrieval.store import Store

SYNTHETIC_CSV = Path(__file__).parent / "data" / "instacart_synthetic.csv"
DEMO_NOW = datetime(2026, 11, 20, 12, 0)
runner = CliRunner()


def invoke(args: list[str], env: dict | None = None):
    result = runner.invoke(app, args, env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


# ---------------------------------------------------------------------------------------- eval reorder


def test_eval_reorder_prints_the_json_summary_with_baselines_and_saves_a_chart(tmp_path):
    chart = tmp_path / "chart.png"
    result = invoke(
        ["eval", "reorder", "--orders-csv", str(SYNTHETIC_CSV), "--json", "--folds", "3", "--plot", str(chart)]
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(out) == {"users", "mean_f1", "recall_at_10", "ndcg_at_10", "baselines", "ranker"}
    assert out["users"] == 15
    assert set(out["baselines"]) == {"repeat_last_order", "recency_frequency"}
    assert out["ranker"].startswith("cross-fitted, 3 folds by user")
    for scores in [out, *out["baselines"].values()]:
        assert all(0.0 <= scores[k] <= 1.0 for k in ("mean_f1", "recall_at_10", "ndcg_at_10"))
    # staples on personal cycles: the learned ranker beats repeating the last order on every metric
    last = out["baselines"]["repeat_last_order"]
    assert all(out[k] > last[k] for k in ("mean_f1", "recall_at_10", "ndcg_at_10"))
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and chart.stat().st_size > 5_000


def test_eval_reorder_names_the_file_and_the_missing_columns(tmp_path):
    bad = tmp_path / "orders.csv"
    bad.write_text("order_id,user_id,order_number,product_id\n1,1,1,A\n")
    result = invoke(["eval", "reorder", "--orders-csv", str(bad), "--json"])
    assert result.exit_code == 1
    message = " ".join(result.output.split())
    assert (
        "orders.csv: missing columns order_dow, order_hour_of_day, days_since_prior_order, add_to_cart_order" in message
    )


def test_eval_reorder_points_at_the_line_of_a_bad_value(tmp_path):
    bad = tmp_path / "orders.csv"
    lines = SYNTHETIC_CSV.read_text().splitlines()[:6]
    fields = lines[4].split(",")
    fields[3] = "Monday"  # order_dow must be an integer
    lines[4] = ",".join(fields)
    bad.write_text("\n".join(lines) + "\n")
    result = invoke(["eval", "reorder", "--orders-csv", str(bad)])
    assert result.exit_code == 1 and "orders.csv:5: bad value" in " ".join(result.output.split())


# ---------------------------------------------------------------------------------------- train reorder


def weekly_shop(path: Path, customers: int = 12) -> Store:
    """A small real store: every customer buys milk weekly and bread fortnightly, plus a vase once."""
    store = Store(f"sqlite:///{path}")
    store.create_schema()
    start = DEMO_NOW - timedelta(days=400)
    rng = np.random.default_rng(3)
    with store.transaction() as s:
        names = {"MILK": "Milk", "BREAD": "Bread", "VASE": "Vase", "EGGS": "Eggs", "JAM": "Jam", "TEA": "Tea"}
        s.add_all(
            [
                Product(id=pid, name=name, category="Grocery", price=Decimal("2.50"), stock=10)
                for pid, name in names.items()
            ]
        )
        for c in range(customers):
            cid = f"K{c:02d}"
            s.add(Customer(id=cid, name=f"Customer {c}"))
            s.add(
                Order(
                    id=f"{cid}-vase",
                    customer_id=cid,
                    placed_at=start,
                    status="delivered",
                    delivered_at=start + timedelta(days=2),
                )
            )
            s.add(OrderItem(order_id=f"{cid}-vase", product_id="VASE", quantity=1, position=0))
            for week in range(30):
                oid = f"{cid}-{week}"
                at = start + timedelta(days=150 + 7 * week, hours=int(rng.integers(8, 20)))
                items = ["MILK"] + (["BREAD"] if week % 2 == 0 else []) + [str(rng.choice(["EGGS", "JAM", "TEA"]))]
                s.add(Order(id=oid, customer_id=cid, placed_at=at, status="delivered", delivered_at=at))
                s.add_all(
                    [OrderItem(order_id=oid, product_id=pid, quantity=1, position=i) for i, pid in enumerate(items)]
                )
    return store


@pytest.fixture(scope="module")
def weekly_store(tmp_path_factory):
    return weekly_shop(tmp_path_factory.mktemp("weekly") / "shop.db")


def test_train_reorder_writes_a_loadable_deterministic_artifact(weekly_store, tmp_path):
    env = {"SHOPBOT_DATABASE_URL": str(weekly_store.url)}
    first, second = tmp_path / "a", tmp_path / "b"
    for out in (first, second):
        result = invoke(["train", "reorder", "--out", str(out), "--seed", "7"], env=env)
        assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["customers"] == 12 and summary["orders"] == 12 * 31 and summary["products"] == 6
    stats, ranker = ProductStats.load(first / STATS_FILE), Ranker.load(first / RANKER_FILE)
    again = Ranker.load(second / RANKER_FILE)
    assert np.array_equal(ranker.threshold, again.threshold) and np.array_equal(ranker.value, again.value)
    assert (first / STATS_FILE).read_bytes() == (second / STATS_FILE).read_bytes()
    assert ranker.info["trained_on"]["seed"] == 7 and ranker.info["trained_on"]["customers"] == 12

    rows = weekly_store.purchase_rows("K00")
    history = history_from_rows(rows)
    now = now_from(history, rows[-1][1] + timedelta(days=17), rows[0][1])
    rec = recommend_reorder(history, now, limit=10, stats=stats, ranker=ranker)
    ranked = [s.product_id for s in rec.items]
    assert ranked[0] == "MILK" and ranked.index("MILK") < ranked.index("VASE")
    assert "MILK" in [s.product_id for s in rec.basket]


def test_train_reorder_on_a_shop_without_histories_says_what_to_do(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'empty.db'}")
    store.create_schema()
    result = invoke(["train", "reorder", "--out", str(tmp_path / "m")], env={"SHOPBOT_DATABASE_URL": str(store.url)})
    assert result.exit_code == 1
    assert "shopbot setup" in " ".join(result.output.split()) and not (tmp_path / "m").exists()


# ---------------------------------------------------------------------------------------- bench reorder


def test_bench_reorder_prints_latency_with_and_without_the_store_query(weekly_store):
    env = {"SHOPBOT_DATABASE_URL": str(weekly_store.url)}
    result = invoke(["bench", "reorder", "--json", "--repeats", "5"], env=env)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["orders"] == 31 and out["candidates"] == 6 and out["ranker"] is True
    for key in ("recommend_ms", "with_store_query_ms"):
        assert 0 < out[key]["p50_ms"] <= out[key]["p95_ms"]
    assert out["with_store_query_ms"]["p50_ms"] > out["recommend_ms"]["p50_ms"] * 0.5
    assert out["model_dir"] == str(SHIPPED_REORDER_MODEL)


# ---------------------------------------------------------------------------------------- shipped artifact


def test_shipped_artifact_ranks_a_demo_customers_weekly_staple_above_a_once_a_year_item(demo_store):
    stats = ProductStats.load(SHIPPED_REORDER_MODEL / STATS_FILE)
    ranker = Ranker.load(SHIPPED_REORDER_MODEL / RANKER_FILE)
    assert ranker.info["trained_on"]["customers"] >= 100 and len(stats.ids) > 300
    assert sum(f.stat().st_size for f in SHIPPED_REORDER_MODEL.iterdir()) < 400_000
    rows = demo_store.purchase_rows("C0048")
    history = history_from_rows(rows)
    now = now_from(history, DEMO_NOW, rows[0][1])
    bought: dict[str, list[float]] = {}
    for b in history:
        for pid in b.items:
            bought.setdefault(pid, []).append(b.day)
    weekly = [p for p, d in bought.items() if len(d) >= 8 and 5 <= np.mean(np.diff(d)) <= 9]
    once_long_ago = [p for p, d in bought.items() if len(d) == 1 and now.day - d[0] > 300]
    assert weekly and once_long_ago
    rec = recommend_reorder(history, now, limit=len(bought), stats=stats, ranker=ranker)
    ranked = [s.product_id for s in rec.items]
    assert max(ranked.index(p) for p in weekly) < min(ranked.index(p) for p in once_long_ago)
    assert set(weekly) & {s.product_id for s in rec.basket}


def test_large_files_train_on_each_users_last_orders_only():
    from bot.reorder.evaluate import evaluate_orders_csv

    result = evaluate_orders_csv(SYNTHETIC_CSV, folds=3, max_targets=60, progress=False)
    assert result["users"] == 15 and "the last 4 orders of each as targets" in result["ranker"]
    assert result["recall_at_10"] > result["baselines"]["repeat_last_order"]["recall_at_10"]
