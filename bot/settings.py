"""The one settings object: every tunable and limit of shopbot, read from the environment and an optional TOML file.

Environment variables are `SHOPBOT_<FIELD>` (e.g. `SHOPBOT_DATABASE_URL`); a TOML file given by
`SHOPBOT_CONFIG` (default `shopbot.toml` in the working directory, if present) supplies defaults
that the environment overrides. Each field's description, and its section in SECTIONS, make docs/configuration.md
(`shopbot docs` writes it).
"""

from __future__ import annotations

import ipaddress
import json
import os
from datetime import datetime
from pathlib import Path
from types import UnionType
from typing import Literal, Union, get_args, get_origin

from pydantic import Field, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

SHIPPED_REORDER_MODEL = Path(__file__).parent / "reorder" / "shipped"
SHIPPED_ADAPTER = Path(__file__).parent.parent / "adapters" / "demo"
ROUTING_FILE = "routing.jsonl"  # written beside an adapter by `shopbot train lora`
POLICY_READER_DIR = "policy_reader"  # written beside an adapter by `shopbot train reader`


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SHOPBOT_", extra="forbid")

    # shop
    shop_name: str = Field(
        "Green Basket Market",
        description="The shop's name, as the assistant's prompt and the terminal chat's header give it.",
    )
    support_contact: str = Field(
        "our customer care team on 1-800-555-0142 or at help@greenbasket.example",
        description='How a shopper reaches a person outside the chat, as "You can also reach ..." in the answer to a '
        "request the bot cannot carry out and to a question asking how to reach the shop; empty: left out.",
        max_length=300,
    )
    shop_now: datetime | None = Field(
        None, description='A fixed "now" for the shop\'s clock (demos, tests, training data); None: the real clock.'
    )
    data_dir: Path = Field(
        Path("var"),
        description="Folder for the shop's working data (database, indexes, model cache, training runs), "
        "relative to the working directory unless absolute.",
    )
    database_url: str = Field("", description="SQLAlchemy database URL; empty: a SQLite file shop.db in data_dir.")
    index_dir: Path | None = Field(None, description="Folder for the search indexes; None: data_dir/index.")
    model_cache_dir: Path | None = Field(
        None, description="Folder for the chat model's local safetensors copy; None: data_dir/models."
    )

    # model
    model_path: str | None = Field(
        None,
        description="The chat model, a local Hugging Face causal-LM folder; None: the bundled SmolLM2-135M-Instruct.",
    )
    adapter_path: str | None = Field(
        None,
        description="The chat model's LoRA adapter folder; None: the shipped demo adapter (adapters/demo) when it exists.",
    )
    use_adapter: bool = Field(
        True, description="Whether the chat model runs with its LoRA adapter; false: the untuned model."
    )
    merge_adapter: bool = Field(
        True,
        description="Fold the LoRA adapter into the weights, which decodes faster; false keeps it switchable per shop.",
    )
    tool_routing: Literal["rules", "model"] = Field(
        "rules",
        description="Who picks the tools: rules, bot/assistant/intents.py from the question; model, the chat model calls them.",
    )
    routing_examples: Path | None = Field(
        None,
        description="JSONL of labelled phrasings the routing classifier is fitted on; None: routing.jsonl beside the "
        "adapter, if any.",
    )
    policy_reader: Path | None = Field(
        None,
        description="LoRA folder of the embedder tuned to find the policy sentence that answers a question "
        "(shopbot train reader); None: policy_reader/ beside the adapter, if any.",
    )
    use_policy_reader: bool = Field(
        True, description="Whether policy sentences are searched with the policy reader; false: the plain embedder."
    )
    max_tool_calls_per_turn: int = Field(
        2, ge=0, le=8, description="Tool calls the chat model may make in one turn at most, with model tool routing."
    )
    tool_modules: list[str] = Field(
        [],
        description="Python modules of the shop's own tools, imported at start-up, each registering its tools "
        "(docs/tool-calls.md).",
    )
    attribute_answers: Literal["catalog", "model"] = Field(
        "catalog",
        description='How "is the X vegan?" about a product the question names is answered: catalog, from its tags '
        "without the model; model, by the model with the tags' verdict stated in its prompt.",
    )
    fact_answers: Literal["facts", "model"] = Field(
        "facts",
        description="How a question resolved to named products or one of the shopper's own orders (\"how much is "
        'the feta?", "and the 2 L one?", "which courier?") is answered: facts, from the catalog line or order '
        "record without the model; model, by the model asked the resolved question.",
    )
    temperature: float = Field(
        0.0,
        ge=0.0,
        le=2.0,
        description="Sampling temperature of the chat model; 0: greedy, the likeliest token every time.",
    )
    top_p: float = Field(
        0.9, gt=0.0, le=1.0, description="Nucleus-sampling cutoff, used only when temperature is above 0."
    )
    repetition_penalty: float = Field(
        1.0,
        ge=1.0,
        le=2.0,
        description="Repetition penalty of the chat model; 1.0: none, since a penalty counts the prompt's tokens too "
        "and pushes the model off the ids, prices and call format it must copy.",
    )
    seed: int = Field(0, description="Random seed for sampled answers and for training the reorder ranker.")

    # retrieval
    embedder: str = Field(
        "all-MiniLM-L6-v2",
        description="Sentence embedder for search and routing: the bundled model's name or a local sentence-transformers folder.",
    )
    top_k_products: int = Field(
        4, ge=0, le=20, description="Products searched into the prompt at most; 0: no product search."
    )
    top_k_policies: int = Field(
        2, ge=0, le=10, description="Policy chunks searched into the prompt at most; 0: no policy search."
    )
    min_product_similarity: float = Field(
        0.25,
        ge=0.0,
        le=1.0,
        description="Products less similar (cosine) to the question stay out of the prompt: off-topic facts only tempt a "
        "small model.",
    )
    min_policy_similarity: float = Field(
        0.3,
        ge=0.0,
        le=1.0,
        description="Policy chunks less similar (cosine) to the question stay out of the prompt, so a greeting or a price "
        "question carries no policy text.",
    )
    spelling: bool = Field(
        True,
        description='Whether a message\'s misspelt words ("retrun", "pasword") are read as the nearest words of the '
        "shop's catalog, policies and routing phrasings before it is routed and searched (retrieval/spelling.py); "
        "the shopper's own words are what is stored.",
    )
    facts_by_intent: bool = Field(
        True,
        description="Whether the prompt holds only the kinds of facts (products, policies, the shopper's orders) the "
        "routing classifier's intent needs (bot/assistant/intents.py facts_by_intent), so a price question reads no "
        "orders or policies and a reorder request only the tool's result; false: every kind.",
    )
    max_orders_in_context: int = Field(
        2,
        ge=0,
        le=20,
        description="The shopper's newest orders in the prompt, plus any the question names by number: a question about "
        '"my order" is nearly always about the newest, and each order line adds to the wait for the first token.',
    )
    lookup_order_limit: int = Field(
        3, ge=1, le=20, description='Orders the lookup_order tool lists ("show my recent orders").'
    )
    reorder_model_dir: Path | None = Field(
        SHIPPED_REORDER_MODEL,
        description="Folder of the learned reorder recommender (stats.json, ranker.npz); None: heuristics only, no learned parts.",
    )
    reorder_limit: int = Field(5, ge=1, le=10, description="Product cards per suggest_reorder answer at most.")

    # serving
    dtype: Literal["auto", "float32", "bfloat16"] = Field(
        "auto",
        description="The chat model's weight type; auto: whichever of the two this CPU runs faster, timed at start-up "
        "(bot/inference/precision.py), bfloat16 on CPUs with bf16 matrix units (AMX) and float32 elsewhere.",
    )
    generation: Literal["batched", "sequential", "remote"] = Field(
        "batched",
        description="The inference backend (bot/inference/backends.py): batched, continuous batching "
        "(bot/inference/scheduler.py) for Llama-family models; sequential, one answer at a time; remote, an "
        "OpenAI-compatible engine in another process (vLLM, TGI, llama.cpp's server) at remote_base_url, no "
        "weights loaded here.",
    )
    remote_base_url: str = Field(
        "",
        description="The remote engine's OpenAI-compatible base URL, up to /v1 (e.g. http://127.0.0.1:8080/v1); "
        "required with generation = remote.",
    )
    remote_model: str = Field(
        "",
        description="The model name sent to the remote engine (with vLLM's --lora-modules, the adapter's name); "
        "empty: the first model the engine lists at /v1/models.",
    )
    remote_api_key: str = Field(
        "", description="Bearer key sent to the remote engine (Authorization: Bearer ...); empty: none sent."
    )
    remote_connect_timeout_s: float = Field(
        2.0, gt=0, description="Seconds one try to connect to the remote engine may take."
    )
    remote_read_timeout_s: float = Field(
        20.0,
        gt=0,
        description="Seconds the remote engine may take to its first token, and between two tokens; past it the "
        "answer ends with a retryable error event.",
    )
    remote_retries: int = Field(
        2,
        ge=0,
        le=10,
        description="Tries after the first to reach the remote engine when connecting fails; none once it has "
        "taken the request.",
    )
    remote_retry_delay_s: float = Field(
        0.25,
        gt=0,
        description="Seconds before the first retry to connect to the remote engine, doubled before each further one.",
    )
    remote_tokenize_url: str = Field(
        "",
        description="The remote engine's tokenize endpoint (vLLM's /tokenize, sent the chat messages) that counts "
        "prompt tokens for the prompt budget; empty: counted here with the chat model's tokenizer files alone "
        "(model_path's, else the bundled model's).",
    )
    linear_kernel: Literal["auto", "aten", "onednn", "int8"] = Field(
        "auto",
        description="The batched model's linear layers: ATen's (MKL) or oneDNN's float matmul, or int8 weights and "
        "activations (bot/inference/kernels/int8_linear.py, for CPUs with VNNI; set by hand without VNNI it quantizes "
        "activations to 7 bits, quality unmeasured); auto: whichever this CPU runs fastest, timed at start-up "
        "(bot/inference/kernels/linear_kernels.py).",
    )
    kv_cache_dtype: Literal["bfloat16", "model"] = Field(
        "bfloat16",
        description="The type the batched model stores keys and values in: bfloat16 whatever the weights (half the memory "
        "per shopper; attention still computes in the weights' type), or model, the weights' type.",
    )
    max_batch_size: int = Field(16, ge=1, le=256, description="Answers decoded together at most; more wait in order.")
    prefill_chunk_tokens: int = Field(
        512, ge=16, description="Prompt tokens fed per step at most while other answers stream."
    )
    prefill_step_s: float = Field(
        0.75,
        gt=0,
        description="Prompt tokens fed per step are also no more than this CPU reads in about this many seconds: the "
        "longest a running answer waits for its next token.",
    )
    draft_tokens: int = Field(
        6,
        ge=0,
        le=16,
        description="Speculative decoding by prompt lookup (bot/inference/prompt_lookup.py): up to this many tokens guessed "
        "from the answer's own prompt and checked in the same step, every token still the model's pick; 0 turns it off.",
    )
    max_draft_sequences: int = Field(
        1, ge=0, description="Guess draft tokens only while at most this many answers decode together."
    )
    ping_interval_s: float = Field(
        20.0,
        gt=0,
        description="Seconds between WebSocket pings, and how long a pong may take before the connection closes.",
    )
    handoff_webhook_url: str = Field("", description="URL the server posts handoff events to; empty: no webhook.")
    webhook_timeout_s: float = Field(5.0, gt=0, description="Seconds a handoff webhook request may take.")
    webhook_attempts: int = Field(
        5,
        ge=1,
        le=10,
        description="Tries at most to deliver one handoff webhook, retried after a network error, 408, 429 or 5xx.",
    )
    webhook_retry_delay_s: float = Field(
        1.0, gt=0, description="Seconds before a handoff webhook's first retry, doubled before each further one."
    )
    events_check_s: float = Field(
        10.0,
        gt=0,
        description="On PostgreSQL: seconds between checks of the connection that LISTENs for other replicas' "
        "agent messages and handoffs; a dropped one is opened again (retries back off up to this long).",
    )

    # limits
    max_message_chars: int = Field(
        2000, ge=1, description="Longest shopper message in characters; longer ones are refused."
    )
    max_history_messages: int = Field(
        6, ge=0, le=50, description="Earlier messages of the conversation in the prompt at most."
    )
    max_prompt_tokens: int = Field(
        1536,
        ge=256,
        description="Prompt tokens at most; the oldest history goes first, then the lowest-ranked facts.",
    )
    max_new_tokens: int = Field(200, ge=1, le=2048, description="Tokens in one answer at most.")
    min_new_tokens: int = Field(
        0,
        ge=0,
        le=2048,
        description="An answer cannot end before this many tokens; 0 in service, benchmarks set it to measure long answers.",
    )
    max_frame_bytes: int = Field(
        65536, ge=1024, description="Largest WebSocket frame in bytes; a bigger one closes the connection with 1009."
    )
    max_request_body_bytes: int = Field(
        262144,
        ge=1024,
        description="Largest REST request body in bytes, counted as it arrives; a bigger one is refused with 413 "
        "(room for an OpenAI client that resends a long conversation to /v1/chat/completions).",
    )
    messages_per_minute_per_connection: int = Field(
        20, ge=1, description="Messages one WebSocket connection may send per minute."
    )
    messages_per_minute_per_customer: int = Field(
        30,
        ge=1,
        description="Messages one customer may send per minute, WebSocket and REST together; anonymous visitors: "
        "per client address.",
    )
    hellos_per_minute_per_customer: int = Field(
        60,
        ge=1,
        description="WebSocket hellos (chats opened or resumed) one customer may send per minute; anonymous "
        "visitors: per client address.",
    )
    feedback_per_minute_per_customer: int = Field(
        30,
        ge=1,
        description="Ratings one customer may send per minute, WebSocket and REST together; anonymous visitors: "
        "per client address.",
    )
    conversations_per_minute_per_customer: int = Field(
        30,
        ge=1,
        description="New conversations one customer may start per minute over REST (each request without a "
        "conversation_id starts one); anonymous visitors: per client address.",
    )
    shared_rate_limits: bool = Field(
        True,
        description="Count the per-customer limits in PostgreSQL so they hold across replicas (off, or on SQLite: "
        "each process counts its own).",
    )
    partial_answer_save_s: float = Field(
        1.0,
        gt=0,
        description="Seconds between saves of a streaming answer's text so far: a crash loses at most this much "
        "of it, and each streaming answer writes at most once per interval.",
    )
    max_concurrent_generations: int = Field(
        16,
        ge=1,
        description="Answers generated at once at most, capped by max_batch_size (1 with sequential generation; "
        "with remote generation, the requests streaming from the engine at once).",
    )
    max_queued_generations: int = Field(
        32,
        ge=0,
        description="Answers waiting for a generation slot at most; beyond them a request is refused (close 1013).",
    )
    idle_timeout_s: float = Field(
        600.0, gt=0, description="Seconds a WebSocket connection may stay idle before it is closed."
    )

    # security
    demo_mode: bool = Field(
        False,
        description="Demo mode: the demo shop page mints tokens for ?customer=... and the built-in demo secret is allowed.",
    )
    secret_key: str = Field(
        "", description="HS256 key for customer tokens, at least 32 characters; required unless demo_mode."
    )
    token_ttl_minutes: int = Field(60, ge=1, le=60 * 24 * 30, description="Lifetime of a customer token in minutes.")
    allowed_origins: list[str] = Field(
        ["http://127.0.0.1:8000", "http://localhost:8000"],
        description="Browser origins allowed to open the chat WebSocket, besides the server's own.",
    )
    agent_api_key: str = Field(
        "", description="The X-Agent-Key header the agent API requires; empty: the agent API is off."
    )
    handoff_webhook_secret: str = Field(
        "",
        description="Key of the Standard Webhooks signature (webhook-signature header) on each handoff webhook request: "
        "whsec_ and base64 as the Standard Webhooks libraries take it, or any other text used as it is.",
    )
    metrics_token: str = Field(
        "", description="The bearer token GET /metrics requires (Authorization: Bearer ...); empty: /metrics is public."
    )
    trusted_proxies: list[str] = Field(
        [],
        description="Addresses or CIDR networks of reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are "
        "believed; empty: those headers are ignored and the peer's address is the client's.",
    )
    sign_in_gate: bool = Field(
        True,
        description="Whether anonymous visitors asking about their own orders (the router's call) are told to sign in "
        "without the model; policies, products, search and the handoff are answered for anyone.",
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_networks(cls, proxies: list[str]) -> list[str]:
        for proxy in proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise ValueError(f"{proxy!r} is not an IP address or CIDR network, e.g. 10.0.0.0/8") from None
        return proxies

    @model_validator(mode="after")
    def _remote_engine(self) -> Settings:
        for name in ("remote_base_url", "remote_tokenize_url"):
            url = getattr(self, name)
            if url and not url.startswith(("http://", "https://")):
                raise ValueError(f"{name} must be an http:// or https:// URL, not {url!r}")
        if self.generation == "remote" and not self.remote_base_url:
            raise ValueError(
                "generation = remote needs remote_base_url (SHOPBOT_REMOTE_BASE_URL), the engine's OpenAI-compatible "
                "base URL, e.g. http://127.0.0.1:8080/v1"
            )
        return self

    @model_validator(mode="after")
    def _derive_paths(self) -> Settings:
        if self.adapter_path is None and (SHIPPED_ADAPTER / "adapter_config.json").is_file():
            self.adapter_path = str(SHIPPED_ADAPTER)
        if self.routing_examples is None and self.adapter_path and (Path(self.adapter_path) / ROUTING_FILE).is_file():
            self.routing_examples = Path(self.adapter_path) / ROUTING_FILE
        reader = Path(self.adapter_path) / POLICY_READER_DIR if self.adapter_path else None
        if self.policy_reader is None and reader is not None and (reader / "adapter_config.json").is_file():
            self.policy_reader = reader
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'shop.db'}"
        if self.index_dir is None:
            self.index_dir = self.data_dir / "index"
        if self.model_cache_dir is None:
            self.model_cache_dir = self.data_dir / "models"
        return self

    def now(self) -> datetime:
        return self.shop_now or datetime.now()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = Path(os.environ.get("SHOPBOT_CONFIG", "shopbot.toml"))
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if toml_file.is_file():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_file))
        return tuple(sources)


# The documentation's sections, in order; together they name every field of Settings once, in the class's order.
SECTIONS: dict[str, tuple[str, ...]] = {
    "shop": ("shop_name", "support_contact", "shop_now", "data_dir", "database_url", "index_dir", "model_cache_dir"),
    "model": (
        "model_path",
        "adapter_path",
        "use_adapter",
        "merge_adapter",
        "tool_routing",
        "routing_examples",
        "policy_reader",
        "use_policy_reader",
        "max_tool_calls_per_turn",
        "tool_modules",
        "attribute_answers",
        "fact_answers",
        "temperature",
        "top_p",
        "repetition_penalty",
        "seed",
    ),
    "retrieval": (
        "embedder",
        "top_k_products",
        "top_k_policies",
        "min_product_similarity",
        "min_policy_similarity",
        "spelling",
        "facts_by_intent",
        "max_orders_in_context",
        "lookup_order_limit",
        "reorder_model_dir",
        "reorder_limit",
    ),
    "serving": (
        "dtype",
        "generation",
        "remote_base_url",
        "remote_model",
        "remote_api_key",
        "remote_connect_timeout_s",
        "remote_read_timeout_s",
        "remote_retries",
        "remote_retry_delay_s",
        "remote_tokenize_url",
        "linear_kernel",
        "kv_cache_dtype",
        "max_batch_size",
        "prefill_chunk_tokens",
        "prefill_step_s",
        "draft_tokens",
        "max_draft_sequences",
        "ping_interval_s",
        "handoff_webhook_url",
        "webhook_timeout_s",
        "webhook_attempts",
        "webhook_retry_delay_s",
        "events_check_s",
    ),
    "limits": (
        "max_message_chars",
        "max_history_messages",
        "max_prompt_tokens",
        "max_new_tokens",
        "min_new_tokens",
        "max_frame_bytes",
        "max_request_body_bytes",
        "messages_per_minute_per_connection",
        "messages_per_minute_per_customer",
        "hellos_per_minute_per_customer",
        "feedback_per_minute_per_customer",
        "conversations_per_minute_per_customer",
        "shared_rate_limits",
        "partial_answer_save_s",
        "max_concurrent_generations",
        "max_queued_generations",
        "idle_timeout_s",
    ),
    "security": (
        "demo_mode",
        "secret_key",
        "token_ttl_minutes",
        "allowed_origins",
        "agent_api_key",
        "handoff_webhook_secret",
        "metrics_token",
        "trusted_proxies",
        "sign_in_gate",
    ),
}
SECTION_INTROS = {
    "shop": "The shop and where its data lives.",
    "model": "Which chat model answers, and how it picks tools and tokens.",
    "retrieval": "Which facts and recommendations reach the prompt.",
    "serving": "How the model runs on this machine, and the server's connections out.",
    "limits": "What one message, answer or connection, and the server as a whole, may take "
    "(the server's limits: [protocol.md](protocol.md)).",
    "security": "Who may use the server, and how it proves itself.",
}
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def configuration_markdown() -> str:
    """docs/configuration.md: every setting by section, from the fields' declarations (not this process's values)."""
    lines = [
        "# Configuration",
        "",
        "<!-- Generated from bot/settings.py by `shopbot docs`; edit the descriptions there, not here. -->",
        "",
        "Every setting of shopbot is one field of `Settings` in `bot/settings.py`. Each is read from, first found wins:",
        "",
        "1. the environment: `SHOPBOT_` and the setting's name, e.g. `SHOPBOT_MAX_NEW_TOKENS=128` (any case);",
        "2. a TOML file: the one `SHOPBOT_CONFIG` names, else `shopbot.toml` in the working directory if there is one,",
        "   with the settings' names as top-level keys, e.g. `max_new_tokens = 128` (the sections below are not TOML",
        "   tables, and an unknown key is an error);",
        "3. the default below.",
        "",
        "So the environment overrides the TOML file. Booleans are `true` or `false`; lists are JSON in the environment",
        "(`SHOPBOT_ALLOWED_ORIGINS='[\"https://shop.example\"]'`) and arrays in TOML. A relative path is taken from the",
        "working directory, except defaults shown relative to the project root (the folder holding `bot/`).",
    ]
    fields = Settings.model_fields
    for section, names in SECTIONS.items():
        lines += [
            "",
            f"## {section.capitalize()}",
            "",
            SECTION_INTROS[section],
            "",
            "| Setting | Type | Default | Description |",
            "| --- | --- | --- | --- |",
        ]
        for name in names:
            field = fields[name]
            cells = (
                f"`SHOPBOT_{name.upper()}`",
                _type_text(field),
                _default_text(field.default),
                field.description or "",
            )
            lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines) + "\n"


_TYPE_NAMES = {str: "string", int: "integer", float: "number", bool: "boolean", Path: "path", datetime: "date-time"}


def _type_text(field) -> str:
    annotation, optional = field.annotation, False
    if get_origin(annotation) in (Union, UnionType) and type(None) in get_args(annotation):
        optional = True
        annotation = next(a for a in get_args(annotation) if a is not type(None))
    if get_origin(annotation) is Literal:
        options = [f"`{v}`" for v in get_args(annotation)]
        text = ", ".join(options[:-1]) + " or " + options[-1]
    elif get_origin(annotation) is list:
        text = f"list of {_TYPE_NAMES[get_args(annotation)[0]]}s"
    else:
        text = _TYPE_NAMES[annotation]
    bounds = {key: getattr(m, key) for m in field.metadata for key in ("gt", "ge", "lt", "le") if hasattr(m, key)}
    if "ge" in bounds and "le" in bounds:
        text += f", {bounds['ge']} to {bounds['le']}"
    else:
        text += "".join(
            f", {op} {bounds[key]}"
            for key, op in (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<="))
            if key in bounds
        )
    return text + (", or None" if optional else "")


def _default_text(value) -> str:
    if value is None:
        return "None"
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    if isinstance(value, Path):
        if value.is_absolute() and value.resolve().is_relative_to(PROJECT_ROOT):
            value = value.resolve().relative_to(PROJECT_ROOT)
        return f"`{value.as_posix()}`"
    if isinstance(value, list):
        return f"`{json.dumps(value)}`"
    if value == "":
        return '`""`'
    return f"`{value}`"
