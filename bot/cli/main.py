"""The `shopbot` command line.

Only the standard library, typer and rich are imported here: the model, the indexes and the server (torch,
transformers, faiss, FastAPI) are imported inside the commands that use them, so `shopbot --help` and a typo
answer at once, and a command that loads them says so before it starts.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

# Optional dependencies: the module, what needs it, and the extra that installs it.
EXTRAS = {
    "matplotlib": ("charts need matplotlib", "plots"),
    "sklearn": ("training needs scikit-learn", "train"),
    "threadpoolctl": ("training needs threadpoolctl", "train"),
    "psycopg": ("a PostgreSQL database needs psycopg", "postgres"),
}
LOADING = "Loading the model and the shop's indexes…"

# peft reads a deprecated property of the transformers model while it loads the adapter: nothing a user can act on
warnings.filterwarnings("ignore", message="`is_gradient_checkpointing` is deprecated", category=FutureWarning)


def missing_hint(module: str) -> str | None:
    """The one line that tells how to install an optional dependency, or None for a module the product needs."""
    if (known := EXTRAS.get(module.split(".")[0])) is None:
        return None
    need, extra = known
    return f"{need}: pip install 'shopbot[{extra}]'"


class _Commands(typer.Typer):
    """A missing optional dependency ends the command with the line that installs it, not a traceback, wherever
    it is first imported."""

    def __call__(self, *args, **kwargs):
        try:
            return super().__call__(*args, **kwargs)
        except ModuleNotFoundError as exc:
            if (hint := missing_hint(exc.name or "")) is None:
                raise
            console.print(f"[red]error:[/] {escape(hint)}", highlight=False)
            sys.exit(1)


app = _Commands(help="shopbot: a customer-service chatbot for online shops.", no_args_is_help=True)
eval_app = typer.Typer(help="Measure retrieval, answers and recommendations.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")
train_app = typer.Typer(help="Train shopbot's learned parts from the shop's own data.", no_args_is_help=True)
app.add_typer(train_app, name="train")
bench_app = typer.Typer(help="Measure latency and throughput; prints JSON.")
app.add_typer(bench_app, name="bench")

db_app = typer.Typer(help="The shop database's schema: Alembic migrations.", no_args_is_help=True)
app.add_typer(db_app, name="db")

console = Console(stderr=True)


def _fail(message: str) -> None:
    console.print(f"[red]error:[/] {escape(message)}")
    raise typer.Exit(1)


def _require(*modules: str) -> None:
    """Checked before a long run rather than at its end, where a chart or a fit would first import it."""
    for module in modules:
        if importlib.util.find_spec(module) is None:
            _fail(missing_hint(module) or f"{module} is not installed")


@contextmanager
def _loading(what: str = LOADING) -> Iterator[None]:
    """Say what is loading before the slow imports start, so the first thing a person sees is what they wait for.

    The libraries' own progress bars (a weight file read in a fraction of a second) are left out; on a terminal
    a spinner runs until the work is done."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    started = time.perf_counter()
    if console.is_terminal:
        with console.status(what):
            yield
    else:
        console.print(what, highlight=False, soft_wrap=True)
        yield
    console.print(f"[dim]ready in {time.perf_counter() - started:.1f} s[/]", highlight=False)


@app.command()
def ingest(
    folder: Annotated[Path, typer.Argument(help="A shop folder in the ingest format (docs/ingest-format.md).")],
) -> None:
    """Load a shop's products, customers, orders and policies, all or nothing."""
    from bot.runtime import Runtime
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
    from bot.runtime import Runtime
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
    from bot.runtime import Runtime

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
    from bot.runtime import Runtime
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
    with _loading():
        from bot.assistant.engine import require_customer
        from bot.cli.chat import run_chat
        from bot.runtime import Runtime

        runtime = Runtime(progress=True)
        try:
            require_customer(runtime.store, customer)  # before the model and indexes load: a typo costs a second
        except PermissionError as exc:
            _fail(str(exc))
        runtime.prepare_thread()  # a backend with a thread of its own gets the cores
        engine = runtime.engine
        engine.warm()  # the catalog's names and the speller, before the first question waits for them
    try:
        code = run_chat(engine, customer, interactive=sys.stdin.isatty(), console=console)
    except PermissionError as exc:
        _fail(str(exc))
    raise typer.Exit(code)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    demo: Annotated[
        bool, typer.Option("--demo", help="Demo mode: /?customer=C0001 signs in as a demo customer.")
    ] = False,
) -> None:
    """Serve the chat widget, the WebSocket protocol (docs/protocol.md), REST and metrics."""
    console.print(f"{LOADING} (/readyz says when they are ready)", highlight=False, soft_wrap=True)
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    from bot.settings import Settings
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
    from bot.runtime import Runtime
    from server.auth import InsecureSecret, Tokens

    runtime = Runtime()
    if runtime.store.customer(customer) is None:
        _fail(f"no customer {customer!r} in {runtime.settings.database_url}")
    try:
        print(Tokens(runtime.settings).mint(customer, ttl_minutes))
    except InsecureSecret as exc:
        _fail(str(exc))


@app.command()
def export(
    out: Annotated[Path, typer.Option(help="A new (or empty) folder to write the model to.")],
    merge: Annotated[
        bool,
        typer.Option(
            help="Fold the LoRA adapter into the weights (one folder); --no-merge writes base/ and adapter/ apart, "
            "for an engine that applies the adapter itself (vLLM --enable-lora)."
        ),
    ] = True,
    dtype: Annotated[
        str, typer.Option(help="Weight type written: float32 (as shopbot computes) or bfloat16 (half the size).")
    ] = "float32",
) -> None:
    """Write the chat model with the shop's LoRA adapter for another inference engine (vLLM, TGI, llama.cpp's
    converter): safetensors, config, tokenizer, chat template and generation config (docs/deploy.md)."""
    with _loading("Loading the chat model and its adapter…"):
        from bot.export import ExportError, export_model
        from bot.settings import Settings

        try:
            manifest = export_model(Settings(), out, merge=merge, dtype=dtype, log=_phase)
        except (ExportError, FileNotFoundError) as exc:
            _fail(str(exc))
    console.print(f"wrote {out} ({manifest['layout']}, {dtype})", highlight=False)
    print(json.dumps(manifest))


def _phase(line: str) -> None:
    """A benchmark's progress, one line a phase, on stderr: its stdout is the JSON result alone."""
    console.print(f"[dim]{line}…[/]", highlight=False, soft_wrap=True)


def _generated_docs() -> list[tuple[str, object]]:
    """The files `shopbot docs` writes: (path from the project root, a function returning its text)."""
    from bot.assistant.tools import document
    from bot.settings import PROJECT_ROOT, configuration_markdown

    def tool_calls() -> str:
        return document((PROJECT_ROOT / "docs" / "tool-calls.md").read_text(encoding="utf-8"))

    return [("docs/configuration.md", configuration_markdown), ("docs/tool-calls.md", tool_calls)]


@app.command()
def docs(
    check: Annotated[
        bool, typer.Option("--check", help="Write nothing; fail if a generated file is not current.")
    ] = False,
) -> None:
    """Write the documentation generated from the code: docs/configuration.md from the settings, the tool
    reference in docs/tool-calls.md from the tool registry."""
    from bot.settings import PROJECT_ROOT

    stale = []
    for name, render in _generated_docs():
        path = PROJECT_ROOT / name
        text = render()
        if path.is_file() and path.read_text(encoding="utf-8") == text:
            continue
        if check:
            stale.append(name)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            console.print(f"wrote {name}")
    if stale:
        _fail(f"{', '.join(stale)} is not current with the code: run `shopbot docs` and commit the result")


@eval_app.command("retrieval")
def eval_retrieval(
    cases: Annotated[Path, typer.Option(help="JSONL file of {query, relevant: [ids]}")],
    as_json: Annotated[bool, typer.Option("--json", help="Print only the JSON result.")] = False,
    lexical: Annotated[bool, typer.Option(help="Fuse BM25 with the dense score.")] = True,
) -> None:
    """Recall@5 and MRR of retrieval on a case file."""
    with _loading("Loading the shop's indexes…"):
        from bot.runtime import Runtime
        from retrieval.evaluate import evaluate, load_cases
        from retrieval.retriever import Retriever

        runtime = Runtime()
        try:
            loaded = load_cases(cases)
        except (OSError, ValueError) as exc:
            _fail(str(exc))
        retriever = Retriever.open(
            runtime.store,
            runtime.embedder,
            runtime.settings.index_dir,
            lexical_weight=1.0 if lexical else 0.0,
            policy_reader=runtime.policy_reader,
        )
    result = evaluate(retriever, loaded, progress=not as_json)
    misses = result.pop("misses")
    if not as_json:
        for miss in misses:
            console.print(f"[yellow]miss[/] {miss['query']!r}: missing {miss['missing']}, top {miss['top']}")
    print(json.dumps(result))


@eval_app.command("reorder")
def eval_reorder(
    orders_csv: Annotated[Path, typer.Option(help="Instacart-format order history CSV (every user's orders).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print only the JSON result.")] = False,
    folds: Annotated[int, typer.Option(min=2, help="Cross-fitting folds by user for the learned ranker.")] = 5,
    plot: Annotated[Path | None, typer.Option(help="Also save a PNG bar chart against the baselines here.")] = None,
    seed: Annotated[int, typer.Option(help="Seed for the folds and the ranker.")] = 0,
) -> None:
    """Reorder quality on real histories: each user's last order is the target, baselines beside it."""
    _require("sklearn", "threadpoolctl", *(["matplotlib"] if plot is not None else []))
    console.print("Reading the order histories…", highlight=False)
    from bot.reorder.evaluate import OrdersCsvError, evaluate_orders_csv, plot_comparison

    try:
        result = evaluate_orders_csv(orders_csv, folds=folds, seed=seed, progress=True)
    except OrdersCsvError as exc:
        _fail(str(exc))
    if plot is not None:
        console.print(f"chart saved to {plot_comparison(result, plot)}")
    if not as_json:
        _reorder_table(result)
    keys = ("users", "mean_f1", "recall_at_10", "ndcg_at_10", "baselines", "ranker")
    print(json.dumps({k: result[k] for k in keys}))


def _reorder_table(result: dict) -> None:
    from rich.table import Table

    table = Table(title=f"reorder recommendations, {result['users']} users ({result['seconds']} s)")
    for column in ("system", "mean F1", "recall@10", "NDCG@10"):
        table.add_column(column, justify="left" if column == "system" else "right")
    rows = [("shopbot", result)] + [(name.replace("_", " "), r) for name, r in result["baselines"].items()]
    for name, r in rows:
        table.add_row(name, f"{r['mean_f1']:.4f}", f"{r['recall_at_10']:.4f}", f"{r['ndcg_at_10']:.4f}")
    console.print(table)
    console.print(f"learned ranker: {result['ranker']}")


@train_app.command("reorder")
def train_reorder(
    out: Annotated[
        Path | None, typer.Option(help="Folder for stats.json and ranker.npz (default: reorder_model_dir).")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Training seed (default: the seed setting).")] = None,
) -> None:
    """Train the reorder recommender (product statistics + ranker) on the shop's own order histories."""
    _require("sklearn", "threadpoolctl")
    from bot.reorder.train import train_reorder_model
    from bot.runtime import Runtime

    runtime = Runtime()
    folder = out or runtime.settings.reorder_model_dir
    if folder is None:
        _fail("reorder_model_dir is unset; pass --out DIR or set SHOPBOT_REORDER_MODEL_DIR")
    try:
        summary = train_reorder_model(
            runtime.store, folder, seed=runtime.settings.seed if seed is None else seed, progress=True
        )
    except ValueError as exc:
        _fail(f"{exc}; load order histories first (`shopbot setup` loads the demo shop)")
    print(json.dumps(summary))


@bench_app.callback(invoke_without_command=True)
def bench(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print only the JSON result.")] = False,
    out: Annotated[Path, typer.Option(help="Folder for sweep.png, bench.json and the server's log.")] = Path(
        "var/bench"
    ),
    levels: Annotated[
        str, typer.Option(help="Concurrent shoppers per sweep level, comma-separated (1 is always run).")
    ] = "1,4,16,32",
    max_new_tokens: Annotated[
        int, typer.Option(min=1, help="Answer length cap, server and naive reference alike.")
    ] = 128,
    min_new_tokens: Annotated[
        int,
        typer.Option(
            min=0, help="Answers cannot end sooner (all three measurements): decode figures over long answers."
        ),
    ] = 0,
    server_env: Annotated[
        list[str] | None,
        typer.Option(
            help="KEY=VALUE for the server and the in-process runtime, e.g. SHOPBOT_DTYPE=bfloat16 or dtype=bfloat16; repeatable."
        ),
    ] = None,
    remote: Annotated[
        str | None,
        typer.Option(
            help="Also measure a server whose backend is the OpenAI-compatible engine at this base URL (up to /v1) "
            "on the same prompts; prints {in_process, remote, remote_vs_in_process}."
        ),
    ] = None,
    remote_env: Annotated[
        list[str] | None,
        typer.Option(help="KEY=VALUE for the remote run only, e.g. remote_model=shop; repeatable; needs --remote."),
    ] = None,
    single_requests: Annotated[int, typer.Option(min=1, help="Sequential requests at concurrency 1.")] = 3,
    naive_prompts: Annotated[int, typer.Option(min=1, help="Prompts answered by the naive generate() reference.")] = 8,
    retrieval_queries: Annotated[int, typer.Option(min=1)] = 50,
) -> None:
    """Serve many shoppers: single stream, concurrency sweep over WebSockets, naive generate() beside it, retrieval,
    reorder and server memory, in one run (a server subprocess on 127.0.0.1); with --remote, the same against a
    server whose backend is a remote engine."""
    if ctx.invoked_subcommand is not None:
        return
    if remote_env and not remote:
        _fail("--remote-env sets the remote run's settings: give the engine's URL with --remote too")
    _require("matplotlib")  # sweep.png, drawn once every figure is measured
    if not as_json:
        _phase("loading the model and server libraries")
    from bot.cli.bench import (
        BenchError,
        BenchOptions,
        parse_env,
        parse_levels,
        remote_settings,
        render_tables,
        run_bench,
    )

    try:
        options = BenchOptions(
            levels=parse_levels(levels),
            max_new_tokens=max_new_tokens,
            min_new_tokens=min_new_tokens,
            server_env=parse_env(server_env or []),
            remote_env=remote_settings(remote, parse_env(remote_env or [], "--remote-env")) if remote else {},
            out=out,
            single_requests=single_requests,
            naive_prompts=naive_prompts,
            retrieval_queries=retrieval_queries,
        )
        result = run_bench(
            options, log=(lambda _: None) if as_json else (lambda line: console.print(line, highlight=False))
        )
    except BenchError as exc:
        _fail(str(exc))
    if not as_json:
        render_tables(result, console)
    print(json.dumps(result))


@bench_app.command("probe")
def bench_probe(
    url: Annotated[str, typer.Option(help="The server's WebSocket endpoint.")] = "ws://127.0.0.1:8000/v1/chat",
    token: Annotated[str | None, typer.Option(help="A customer token (`shopbot token`); none: anonymous.")] = None,
    pid: Annotated[int | None, typer.Option(help="The server's process id, for its memory.")] = None,
    one_conversation: Annotated[bool, typer.Option(help="Ask every question in one conversation.")] = False,
) -> None:
    """What a WebSocket client sees of a running server: first-token time and tokens/s per answer; prints JSON."""
    import asyncio

    from bot.cli.probe import main as probe

    print(json.dumps(asyncio.run(probe(url, token, pid, one_conversation)), indent=2))


@bench_app.command("grounding")
def bench_grounding(
    cases: Annotated[Path, typer.Option(help="Answer-evaluation cases whose questions set up the turns.")] = Path(
        "adapters/eval_cases.jsonl"
    ),
    limit: Annotated[int, typer.Option(min=1, help="Questions to time.")] = 200,
    repeats: Annotated[int, typer.Option(min=1)] = 20,
) -> None:
    """p50/p95 of the grounding guard on one answer, streamed through it in 4-character pieces as the server
    streams tokens; prints JSON. Each answer states every fact of its turn (its product and order lines, as
    the prompt shows them, ids in brackets included), more than a real answer does."""
    import statistics

    _phase("loading the shop's indexes and the router")

    from adapters.evaluate import load_cases
    from bot.assistant.engine import ChatEngine
    from bot.assistant.grounding import Guard
    from bot.assistant.prompt import order_line, product_line
    from bot.runtime import Runtime

    runtime = Runtime()
    engine = ChatEngine(runtime.settings, runtime.store, runtime.retriever, None, runtime.tools, runtime.router)
    loaded = load_cases(cases, limit)
    _phase(f"gathering the facts of {len(loaded)} questions")
    turns = []
    for case in loaded:
        ctx = engine.gather(case.turns[-1], case.customer_id, [])
        answer = " ".join([*(product_line(p) + "." for p in ctx.products), *(order_line(o) + "." for o in ctx.orders)])
        turns.append((answer, ctx))
    _phase(f"timing the guard on {len(turns)} answers, best of {repeats}")
    times, findings = [], 0
    for answer, ctx in turns:
        best = float("inf")
        pieces = [answer[i : i + 4] for i in range(0, len(answer), 4)]
        for _ in range(repeats):
            started = time.perf_counter()
            guard = Guard(ctx, engine.internal_names)
            for piece in pieces:
                guard.feed(piece)
            guard.finish()
            best = min(best, time.perf_counter() - started)
        times.append(best * 1000)
        findings += len(guard.corrections)
    times.sort()
    result = {
        "answers": len(times),
        "answer_chars_p50": statistics.median(len(a) for a, _ in turns),
        "p50_ms": round(statistics.median(times), 3),
        "p95_ms": round(times[int(0.95 * (len(times) - 1))], 3),
        "corrections": findings,
    }
    print(json.dumps(result))


@bench_app.command("spelling")
def bench_spelling(
    cases: Annotated[Path, typer.Option(help="Answer-evaluation cases whose messages are read.")] = Path(
        "adapters/eval_shoppers.jsonl"
    ),
    repeats: Annotated[int, typer.Option(min=1)] = 20,
) -> None:
    """The speller's cost: its build from the shop's words, and p50/p95 of reading one message; prints JSON."""
    import statistics

    _phase("loading the shop's indexes and the router")
    from adapters.evaluate import load_cases
    from bot.assistant.engine import shop_speller
    from bot.runtime import Runtime
    from retrieval.spelling import english_words

    runtime = Runtime()
    retriever, router = runtime.retriever, runtime.router
    english_words()
    _phase("building the speller from the shop's words")
    started = time.perf_counter()
    speller = shop_speller(retriever, router)
    built_ms = (time.perf_counter() - started) * 1000
    messages = [turn for case in load_cases(cases) for turn in case.turns]
    _phase(f"timing {len(messages)} messages, best of {repeats}")
    times = []
    for text in messages:
        best = float("inf")
        for _ in range(repeats):
            started = time.perf_counter()
            speller.correct(text)
            best = min(best, time.perf_counter() - started)
        times.append(best * 1000)
    times.sort()
    result = {
        "messages": len(messages),
        "changed": sum(speller.correct(t) != t for t in messages),
        "shop_words": len(speller.shop),
        "build_ms": round(built_ms, 1),
        "p50_ms": round(statistics.median(times), 4),
        "p95_ms": round(times[int(0.95 * (len(times) - 1))], 4),
    }
    print(json.dumps(result))


@bench_app.command("reorder")
def bench_reorder(
    as_json: Annotated[bool, typer.Option("--json", help="Print only the JSON result.")] = False,
    customer: Annotated[
        str | None, typer.Option(help="Customer to time (default: the one with the most orders).")
    ] = None,
    repeats: Annotated[int, typer.Option(min=1)] = 300,
) -> None:
    """p50/p95 of one reorder recommendation from the store, with and without the SQL query."""
    if not as_json:
        _phase("loading the reorder model and the store")
    from bot.reorder.evaluate import bench_store
    from bot.reorder.recommend import ReorderModel
    from bot.runtime import Runtime

    runtime = Runtime()
    folder = runtime.settings.reorder_model_dir
    model = ReorderModel.load(folder)
    try:
        result = bench_store(
            runtime.store, model.stats, model.ranker, customer, repeats=repeats, moment=runtime.settings.now()
        )
    except ValueError as exc:
        _fail(str(exc))
    result["model_dir"] = str(folder) if folder is not None else None
    if not as_json:
        console.print(
            f"customer {result['customer']} ({result['orders']} orders, {result['candidates']} products): "
            f"recommend p50 {result['recommend_ms']['p50_ms']} ms, with the store query "
            f"p50 {result['with_store_query_ms']['p50_ms']} ms"
        )
    print(json.dumps(result))


def _cases_with_reading(cases: Path):
    """The case file's cases, the runtime on defaults, and the engine's reading of a message (spelling)."""
    from adapters.evaluate import load_cases
    from bot.assistant.engine import shop_speller
    from bot.runtime import Runtime

    try:
        loaded = load_cases(cases)
    except (OSError, ValueError) as exc:
        _fail(str(exc))
    runtime = Runtime()
    read = shop_speller(runtime.retriever, runtime.router).correct if runtime.settings.spelling else str
    return loaded, runtime, read


@eval_app.command("reader")
def eval_reader(
    cases: Annotated[Path, typer.Option(help="The answer evaluation's JSONL cases (intent, expected words).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print only the JSON result.")] = False,
) -> None:
    """Policy sentence search alone, with the policy reader and with the plain embedder: how often the sentence a
    policy, complaint or beyond-the-bot case expects is found first, and quoted; no chat model."""
    with _loading("Loading the shop's indexes and the policy reader…"):
        from adapters.policy_reader import evaluate_reader
        from retrieval.retriever import Retriever

        loaded, runtime, read = _cases_with_reading(cases)
        # the plain embedder's indexes in a folder of their own, so the server's are not rebuilt
        plain = Retriever.open(runtime.store, runtime.embedder, runtime.settings.index_dir / "without-reader")
    result = {"reader": evaluate_reader(runtime.retriever, loaded, read) if runtime.policy_reader else None}
    result["plain"] = evaluate_reader(plain, loaded, read)
    if not as_json:
        for name, row in result.items():
            if row is not None:
                console.print(f"{name}: {row['cases']} cases, found first {row['found_first']}, quoted {row['quoted']}")
    print(json.dumps(result))


@eval_app.command("routing")
def eval_routing(
    cases: Annotated[Path, typer.Option(help="The answer evaluation's JSONL cases (expect_tool, intent).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print only the JSON result.")] = False,
) -> None:
    """The router alone: route accuracy by route with a confusion table, and intent accuracy; no model."""
    with _loading("Loading the shop's indexes and the router…"):
        from adapters.routing_eval import evaluate_routing

        loaded, runtime, read = _cases_with_reading(cases)
    result = evaluate_routing(runtime.router, loaded, read)
    if not as_json:
        routes = result["routes"]
        console.print(f"routes: {routes['accuracy']} of {routes['cases']} cases")
        for route, row in routes["by_route"].items():
            console.print(f"  {route:<18} {row['correct']}/{row['cases']}  routed as {routes['confusion'][route]}")
        for miss in result["misrouted"]:
            console.print(
                f"[yellow]misrouted[/] {miss['id']}: {miss['text']!r} -> {miss['routed']} ({miss['expected']})"
            )
    print(json.dumps(result))


@eval_app.command("answers")
def eval_answers(
    cases: Annotated[
        Path,
        typer.Option(
            help="JSONL of {id, customer_id, turns, expect_all, expect_any, expect_none, expect_tool, intent}"
        ),
    ],
    no_adapter: Annotated[bool, typer.Option("--no-adapter", help="The untuned model, for comparison.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print only the JSON result.")] = False,
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N cases.")] = None,
    report: Annotated[Path | None, typer.Option(help="Also save a PNG bar chart of accuracy by intent here.")] = None,
    routing: Annotated[str | None, typer.Option(help="rules or model (default: the tool_routing setting).")] = None,
    max_new_tokens: Annotated[int, typer.Option(min=1, help="Answer length cap; answers are short.")] = 64,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Cases run at once (default: the generation capacity).")
    ] = None,
    untuned: Annotated[
        bool,
        typer.Option(
            help="With an adapter, also score the untuned model on the same cases, printed beside (key `untuned`)."
        ),
    ] = True,
) -> None:
    """Answer accuracy and tool accuracy of the chat model on conversations with expected facts."""
    if report is not None:
        _require("matplotlib")
    console.print(LOADING, highlight=False)
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    from adapters.evaluate import load_cases, plot_by_intent
    from bot.settings import Settings

    try:
        loaded = load_cases(cases, limit)
    except (OSError, ValueError) as exc:
        _fail(str(exc))
    overrides = {"use_adapter": not no_adapter, "max_new_tokens": max_new_tokens}
    if routing is not None:
        overrides["tool_routing"] = routing
    settings = Settings(**overrides)
    result = _score_answers(settings, loaded, workers)
    if untuned and settings.use_adapter and settings.adapter_path:
        base = _score_answers(settings.model_copy(update={"use_adapter": False}), loaded, workers)
        result["untuned"] = {
            k: base[k] for k in ("cases", "accuracy", "tool_accuracy", "reorder_answers_naming_a_suggestion", "model")
        }
        result["untuned"]["by_intent"] = {k: v["accuracy"] for k, v in base["by_intent"].items()}
        if not as_json:
            _print_comparison(result, base)
    if report is not None:
        name = "untuned" if not (settings.use_adapter and settings.adapter_path) else "tuned"
        plot_by_intent(result, report, f"{name} ({settings.tool_routing} routing)")
        console.print(f"chart saved to {report}")
    if not as_json:
        for f in result["failures"]:
            console.print(f"[yellow]fail[/] {f['id']}: {'; '.join(f['why'])} :: {f['answer'][:120]!r}", highlight=False)
        for u in result["ungrounded"]:
            console.print(
                f"[red]ungrounded[/] {u['id']}: {'; '.join(u['findings'])} :: {u['answer'][:120]!r}", highlight=False
            )
    print(json.dumps(result))


def _score_answers(settings, cases, workers: int | None) -> dict:
    from adapters.evaluate import evaluate, plant
    from bot.runtime import Runtime
    from retrieval.store import scratch_copy

    with scratch_copy(settings.database_url) as scratch:
        runtime = Runtime(settings.model_copy(update={"database_url": scratch}))
        runtime.prepare_thread()  # a backend with a thread of its own gets the cores
        engine = runtime.engine  # loads the search index before any planted text changes the catalog
        try:
            plant(runtime.store, cases)
        except ValueError as exc:
            _fail(str(exc))
        result = evaluate(engine, cases, progress=True, workers=workers or runtime.concurrent_generations)
        runtime.close()
    result["model"] = {
        "adapter": settings.adapter_path if settings.use_adapter else None,
        "tool_routing": settings.tool_routing,
        "dtype": settings.dtype,
        "generation": settings.generation,
        "repetition_penalty": settings.repetition_penalty,
    }
    return result


def _print_comparison(tuned: dict, base: dict) -> None:
    from rich.table import Table

    table = Table("intent", "tuned", "untuned")
    for intent, group in tuned["by_intent"].items():
        table.add_row(intent, f"{group['accuracy']:.2f}", f"{base['by_intent'].get(intent, {}).get('accuracy', 0):.2f}")
    table.add_row("[b]accuracy[/]", f"{tuned['accuracy']:.3f}", f"{base['accuracy']:.3f}")
    table.add_row("[b]tool accuracy[/]", f"{tuned['tool_accuracy']}", f"{base['tool_accuracy']}")
    table.add_row(
        "[b]reorder answers naming a suggestion[/]",
        f"{tuned['reorder_answers_naming_a_suggestion']}",
        f"{base['reorder_answers_naming_a_suggestion']}",
    )
    console.print(table)


@train_app.command("router")
def train_router(
    out: Annotated[
        Path | None,
        typer.Option(help="Routing phrasings to write (default: routing.jsonl beside the shipped adapter)."),
    ] = None,
) -> None:
    """Write the router's labelled phrasings from the shop's catalog, fit the router and print its calibration.

    The chat model is not trained: the router is fitted when the server starts, from this file."""
    from bot.assistant.tools import load as load_tools
    from bot.runtime import Runtime
    from bot.settings import ROUTING_FILE, SHIPPED_ADAPTER, Settings

    load_tools(Settings().tool_modules)
    from adapters.make_eval_cases import builder_from_runtime
    from adapters.train import PRESETS
    from bot.assistant.intents import IntentRouter

    cfg = PRESETS["full"]
    runtime = Runtime(Settings(use_adapter=False, shop_now="2026-11-20T12:00:00"), progress=True)
    out = out or SHIPPED_ADAPTER / ROUTING_FILE
    rows = builder_from_runtime(runtime).routing_examples(cfg.routing_scenarios, cfg.seed + 2)
    out.write_text("".join(json.dumps(r) + "\n" for r in rows))
    router = IntentRouter.open(out, runtime.embedder, runtime.settings.index_dir / "routing")
    console.print(f"{len(rows)} phrasings written to {out}")
    print(json.dumps({"phrasings": len(rows), "calibration": router.calibration}))


@train_app.command("reader")
def train_reader(
    questions: Annotated[
        Path | None,
        typer.Option(help="JSONL of {policy, sentence, text, kind}: questions and the sentence that answers each."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Reader folder (default: policy_reader/ beside the shipped adapter).")
    ] = None,
    epochs: Annotated[int, typer.Option(min=1, help="Passes over the questions.")] = 4,
) -> None:
    """Tune the policy reader: a LoRA of the embedder that finds the policy sentence answering a question.

    About 3 minutes on 2 CPU cores for the demo shop's 565 questions; the server searches policy sentences with
    it from the next start (the sentence index is rebuilt then)."""
    with _loading("Loading the shop's policies…"):
        from adapters.policy_reader import QUESTIONS, ReaderConfig, load_questions, train_reader, training_pairs
        from bot.runtime import Runtime
        from bot.settings import POLICY_READER_DIR, SHIPPED_ADAPTER, Settings
        from retrieval.embeddings import embedder_path

        runtime = Runtime(Settings(use_policy_reader=False))
        try:
            pairs = training_pairs(load_questions(questions or QUESTIONS), runtime.store.policies())
        except (OSError, ValueError) as exc:
            _fail(str(exc))
    name = runtime.settings.embedder
    out = out or SHIPPED_ADAPTER / POLICY_READER_DIR
    report = train_reader(
        pairs, embedder_path(name), out, ReaderConfig(epochs=epochs), progress=console.print, base_name=name
    )
    console.print(f"policy reader saved to {out}")
    print(json.dumps(report))


@train_app.command("lora")
def train_lora(
    preset: Annotated[
        str,
        typer.Option(
            help="smoke (2 steps, CI), full (from zeros, ~60 min on CPU) or refresh "
            "(150 steps on from the shipped adapter)"
        ),
    ] = "smoke",
    out: Annotated[
        Path | None,
        typer.Option(help="Adapter folder (default: adapters/demo for full, var/adapters/PRESET for the others)."),
    ] = None,
    work: Annotated[
        Path | None, typer.Option(help="Data, checkpoints and losses (default: DATA_DIR/train/lora-PRESET).")
    ] = None,
    resume: Annotated[bool, typer.Option(help="Continue from the newest checkpoint in the work folder.")] = True,
    bf16: Annotated[
        bool | None, typer.Option(help="bfloat16 autocast (default: where this CPU runs it faster than float32).")
    ] = None,
    max_steps: Annotated[int | None, typer.Option(min=1, help="Stop after this many optimizer steps.")] = None,
    seed: Annotated[
        int | None, typer.Option(help="Seed for data, order and initialisation (default: the preset's).")
    ] = None,
) -> None:
    """Train the chat model's LoRA adapter on conversations generated from the shop's own data."""
    _require("matplotlib")  # loss.png, drawn after the last step
    from bot.assistant.tools import load as load_tools
    from bot.runtime import Runtime
    from bot.settings import SHIPPED_ADAPTER, Settings

    load_tools(Settings().tool_modules)  # the shop's own tools' phrasings join the training data
    from adapters.make_eval_cases import builder_from_runtime
    from adapters.train import PRESETS, train
    from bot.inference.model import load_model

    if preset not in PRESETS:
        _fail(f"unknown preset {preset!r}: choose one of {', '.join(PRESETS)}")
    changes = {k: v for k, v in {"bf16": bf16, "max_steps": max_steps, "seed": seed}.items() if v is not None}
    cfg = PRESETS[preset].model_copy(update=changes)
    runtime = Runtime(Settings(use_adapter=False, shop_now="2026-11-20T12:00:00"), progress=True)
    s = runtime.settings
    out = out or (SHIPPED_ADAPTER if preset == "full" else s.data_dir / "adapters" / preset)
    work = work or s.data_dir / "train" / f"lora-{preset}"
    loaded = load_model(s.model_path, s.model_cache_dir, dtype="float32")
    # the router the server fits on the shipped phrasings: training prompts leave out what served prompts do
    result = train(
        cfg,
        builder_factory=lambda: builder_from_runtime(runtime, runtime.router),
        loaded=loaded,
        out=out,
        work=work,
        resume=resume,
        log=console.print,
    )
    console.print(f"adapter saved to {out} ({result['adapter_bytes'] / 1e6:.1f} MB), loss curve {out / 'loss.png'}")
    print(json.dumps(result))


def _database():
    from bot.settings import Settings
    from retrieval.store import Store

    store = Store(Settings().database_url)
    return store, store.engine.url.render_as_string(hide_password=True)


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="The revision to reach; head is the newest.")] = "head",
) -> None:
    """Apply the schema migrations the database lacks (shopbot also applies them whenever it opens the database)."""
    from alembic.util import CommandError

    from retrieval import migrations

    store, url = _database()
    before = store.schema_revision()
    try:
        after = migrations.upgrade(store.engine, revision)
    except CommandError as exc:
        _fail(f"cannot upgrade {url} to {revision!r}: {exc}")
    console.print(f"{url}: revision {before or 'none'} -> {after}", highlight=False, soft_wrap=True)


@db_app.command("current")
def db_current() -> None:
    """Print the database's schema revision, and whether it is the newest this shopbot knows."""
    from retrieval import migrations

    store, url = _database()
    revision = store.schema_revision()
    state = "up to date" if revision == migrations.HEAD else f"behind {migrations.HEAD}: run `shopbot db upgrade`"
    console.print(f"{url}: revision {revision or 'none'} ({state})", highlight=False, soft_wrap=True)
    print(revision or "")


def main() -> None:  # pragma: no cover
    app()
