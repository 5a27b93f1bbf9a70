"""The `shopbot` command line."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from bot.runtime import Runtime
from bot.settings import Settings

app = typer.Typer(help="shopbot: a customer-service chatbot for online shops.", no_args_is_help=True)
eval_app = typer.Typer(help="Measure retrieval, answers and recommendations.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")

console = Console(stderr=True)


def _fail(message: str) -> None:
    console.print(f"[red]error:[/] {message}")
    raise typer.Exit(1)


@app.command()
def ingest(folder: Annotated[Path, typer.Argument(help="A shop folder in the ingest format (docs/ingest-format.md).")]) -> None:
    """Load a shop's products, customers, orders and policies, all or nothing."""
    from retrieval.ingest import IngestError, ingest_shop

    runtime = Runtime()
    try:
        report = ingest_shop(runtime.store, folder)
    except IngestError as exc:
        _fail(f"nothing was loaded, fix these rows first:\n{exc}")
    console.print(f"ingested {report}")


@app.command("import-instacart")
def import_instacart_cmd(
    orders: Annotated[Path, typer.Option(help="order_history CSV in Instacart format")],
    products: Annotated[Path, typer.Option(help="Instacart products.csv")],
    aisles: Annotated[Path, typer.Option(help="Instacart aisles.csv")],
    departments: Annotated[Path, typer.Option(help="Instacart departments.csv")],
) -> None:
    """Load real Instacart-format order histories (for development and evaluation only)."""
    from retrieval.ingest import IngestError
    from retrieval.instacart import import_instacart

    runtime = Runtime()
    try:
        report = import_instacart(runtime.store, orders, products, aisles, departments)
    except IngestError as exc:
        _fail(f"nothing was imported:\n{exc}")
    console.print(f"imported {report}")


@app.command()
def index() -> None:
    """Build the FAISS indexes (or confirm they are current)."""
    runtime = Runtime(progress=True)
    started = time.perf_counter()
    retriever = runtime.retriever
    sizes = {kind: len(k.dense.docs) for kind, k in retriever.kinds.items()}
    console.print(f"indexes ready in {time.perf_counter() - started:.1f} s: {sizes}")


@app.command()
def setup(
    demo: Annotated[bool, typer.Option(help="Load the bundled demo shop.")] = True,
) -> None:
    """Prepare everything for chatting: database, demo shop, indexes, model cache. Safe to re-run."""
    from retrieval.demo import DEMO_DATA_DIR
    from retrieval.ingest import ingest_shop

    runtime = Runtime(progress=True)
    timings = {}
    started = time.perf_counter()
    if demo:
        report = ingest_shop(runtime.store, DEMO_DATA_DIR)
        console.print(f"demo shop loaded: {report}")
    timings["ingest_s"] = time.perf_counter() - started
    started = time.perf_counter()
    _ = runtime.retriever
    timings["index_s"] = time.perf_counter() - started
    started = time.perf_counter()
    _ = runtime.loaded_model
    timings["model_s"] = time.perf_counter() - started
    console.print("ready: " + ", ".join(f"{k} {v:.1f}" for k, v in timings.items()))


@app.command()
def chat(
    customer: Annotated[str | None, typer.Option(help="Chat as this signed-in customer (e.g. C0001).")] = None,
) -> None:
    """Chat with the shop's assistant in the terminal; reads stdin line by line when piped."""
    from bot.chat import run_chat

    runtime = Runtime(progress=True)
    engine = runtime.engine
    try:
        code = run_chat(engine, customer, interactive=sys.stdin.isatty(), console=console)
    except PermissionError as exc:
        _fail(str(exc))
    raise typer.Exit(code)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    demo: Annotated[bool, typer.Option("--demo", help="Demo mode: /?customer=C0001 signs in as a demo customer.")] = False,
) -> None:
    """Serve the chat widget, the WebSocket protocol (docs/protocol.md), REST and metrics."""
    from server.app import serve as run_server
    from server.auth import InsecureSecret

    settings = Settings(demo_mode=True) if demo else Settings()
    try:
        run_server(settings, host, port)
    except InsecureSecret as exc:
        _fail(str(exc))


@app.command()
def token(
    customer: Annotated[str, typer.Option(help="The customer id the token vouches for, e.g. C0001.")],
    ttl_minutes: Annotated[int | None, typer.Option(help="Lifetime; default SHOPBOT_TOKEN_TTL_MINUTES.")] = None,
) -> None:
    """Print a signed customer token, as a shop's backend would mint for a logged-in shopper."""
    from server.auth import InsecureSecret, Tokens

    runtime = Runtime()
    if runtime.store.customer(customer) is None:
        _fail(f"no customer {customer!r} in {runtime.settings.database_url}")
    try:
        print(Tokens(runtime.settings).mint(customer, ttl_minutes))
    except InsecureSecret as exc:
        _fail(str(exc))


@eval_app.command("retrieval")
def eval_retrieval(
    cases: Annotated[Path, typer.Option(help="JSONL file of {query, relevant: [ids]}")],
    as_json: Annotated[bool, typer.Option("--json", help="Print only the JSON result.")] = False,
    lexical: Annotated[bool, typer.Option(help="Fuse BM25 with the dense score.")] = True,
) -> None:
    """Recall@5 and MRR of retrieval on a case file."""
    from retrieval.evaluate import evaluate, load_cases
    from retrieval.retriever import Retriever

    runtime = Runtime()
    try:
        loaded = load_cases(cases)
    except (OSError, ValueError) as exc:
        _fail(str(exc))
    retriever = Retriever.open(runtime.store, runtime.embedder, runtime.settings.index_dir,
                               lexical_weight=1.0 if lexical else 0.0)
    result = evaluate(retriever, loaded, progress=not as_json)
    misses = result.pop("misses")
    if not as_json:
        for miss in misses:
            console.print(f"[yellow]miss[/] {miss['query']!r}: missing {miss['missing']}, top {miss['top']}")
    print(json.dumps(result))


def main() -> None:  # pragma: no cover
    app()
