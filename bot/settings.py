"""The one settings object: every tunable and limit of shopbot, read from the environment and an optional TOML file.

Environment variables are `SHOPBOT_<FIELD>` (e.g. `SHOPBOT_DATABASE_URL`); a TOML file given by
`SHOPBOT_CONFIG` (default `shopbot.toml` in the working directory, if present) supplies defaults
that the environment overrides.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

SHIPPED_REORDER_MODEL = Path(__file__).parent / "reorder" / "shipped"
SHIPPED_ADAPTER = Path(__file__).parent.parent / "adapters" / "demo"
ROUTING_FILE = "routing.jsonl"  # written beside an adapter by `shopbot train lora`


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SHOPBOT_", extra="forbid")

    shop_name: str = "Green Basket Market"
    data_dir: Path = Path("var")
    database_url: str = ""  # empty: a SQLite file in data_dir
    index_dir: Path | None = None  # None: data_dir/index
    model_cache_dir: Path | None = None  # None: data_dir/models (the bundled model's safetensors copy)

    model_path: str | None = None  # None: the bundled SmolLM2-135M-Instruct; else a local HF causal-LM folder
    adapter_path: str | None = None  # None: the shipped demo adapter (adapters/demo) when it exists
    use_adapter: bool = True
    tool_routing: Literal["rules", "model"] = "rules"  # rules: bot/assistant/intents.py picks tools; model: the model calls them
    # labelled phrasings rule routing's classifier is fitted on; None: routing.jsonl beside the adapter, if any
    routing_examples: Path | None = None
    max_tool_calls_per_turn: int = Field(2, ge=0, le=8)
    # true: anonymous visitors asking about their own orders (the routing classifier's call) are told to sign in, without the model
    sign_in_gate: bool = False
    # catalog: "is the X vegan?" about a product the question names is answered from its tags, without the model
    # (asked of 24 products lacking the tag, the tuned model said "yes" to 19); model: the model answers, the
    # tags' verdict stated in its prompt
    attribute_answers: Literal["catalog", "model"] = "catalog"
    # true: the prompt holds only the kinds of facts (products, policies, the shopper's orders) the routing
    # classifier's intents may need (bot/assistant/intents.py FACTS_BY_INTENT): a price question reads no orders or
    # policies, a policy question no orders, an order question no policies, a reorder request nothing but the
    # tool's result. The 16 bench prompts: 11,345 -> 8,939 tokens (stop 22), 7,809 with reorder and other
    # shoppers' questions mapped (stop 23; eval 0.948 either way). As the bench counts them (`/metrics`), the
    # server was given 7,235 of them at stop 23's end and 5,100 with stop 24's shorter prompts
    facts_by_intent: bool = True
    # auto: whichever of the two this CPU runs faster, timed at start-up (bot/inference/precision.py). bfloat16 on CPUs with
    # bf16 matrix units (AMX: 1.9x the decode and 3.5x the prompt speed, accuracy within a point); float32 elsewhere
    dtype: Literal["auto", "float32", "bfloat16"] = "auto"
    # batched: continuous batching (bot/inference/scheduler.py) for Llama-family models; sequential: one answer at a time
    generation: Literal["batched", "sequential"] = "batched"
    # auto: ATen's (MKL) or oneDNN's float matmul for the batched model's linear layers, or int8 weights and
    # activations (bot/inference/int8_linear.py, only on CPUs with VNNI), whichever this CPU runs fastest, timed at
    # start-up (bot/inference/linear_kernels.py): int8 on an AMD EPYC with AVX-512 (a one-stream decode step 22-24 ms
    # against bfloat16's ~60; eval 0.957-0.962 vs 0.948 float32), oneDNN on one with AVX2 only. int8 set by hand without VNNI
    # quantizes activations to 7 bits, quality unmeasured
    linear_kernel: Literal["auto", "aten", "onednn", "int8"] = "auto"
    # bfloat16: the batched model's keys and values stored in bfloat16 whatever the weights (half the memory per
    # shopper; attention still computes in the weights' type); model: stored in the weights' type
    kv_cache_dtype: Literal["bfloat16", "model"] = "bfloat16"
    max_batch_size: int = Field(16, ge=1, le=256)  # answers decoded together; more wait in order
    prefill_chunk_tokens: int = Field(512, ge=16)  # prompt tokens per step at most while other answers stream
    # and only as many as this CPU reads in about this long: the longest a running answer waits for its next token
    prefill_step_s: float = Field(0.75, gt=0)
    # speculative decoding by prompt lookup (bot/inference/prompt_lookup.py): up to this many tokens guessed from the
    # answer's own prompt and checked in the same step; 0 turns it off. Every token is still the model's pick
    draft_tokens: int = Field(6, ge=0, le=16)
    max_draft_sequences: int = Field(1, ge=0)  # guess only while at most this many answers decode together
    merge_adapter: bool = True  # fold the LoRA into the weights (faster); False keeps it switchable per shop
    embedder: str = "all-MiniLM-L6-v2"  # the bundled model, or a local sentence-transformers folder

    top_k_products: int = Field(4, ge=0, le=20)
    top_k_policies: int = Field(2, ge=0, le=10)
    # products less similar than this (cosine) stay out of the prompt: off-topic facts only tempt a small model
    min_product_similarity: float = Field(0.25, ge=0.0, le=1.0)
    # the same for policy chunks: a greeting or a price question then carries no policy text (~165 tokens)
    min_policy_similarity: float = Field(0.3, ge=0.0, le=1.0)
    # the shopper's newest orders in the prompt (plus any the question names by number): a question about "my
    # order" is nearly always about the newest, and each order line is ~75 tokens of first-token wait. 3 -> 2:
    # the 16 bench prompts 4,989 -> 4,415 prompt tokens computed; eval 0.948 -> 0.942 (float32 0.948 -> 0.936)
    max_orders_in_context: int = Field(2, ge=0, le=20)
    lookup_order_limit: int = Field(3, ge=1, le=20)  # orders the lookup_order tool lists ("show my recent orders")
    max_history_messages: int = Field(6, ge=0, le=50)
    max_prompt_tokens: int = Field(1536, ge=256)
    max_new_tokens: int = Field(200, ge=1, le=2048)
    # an answer cannot end before this many tokens; 0 in service: benchmarks set it to measure long answers
    min_new_tokens: int = Field(0, ge=0, le=2048)
    temperature: float = Field(0.0, ge=0.0, le=2.0)
    top_p: float = Field(0.9, gt=0.0, le=1.0)
    # 1.0: a penalty counts the prompt's tokens too, and pushes the model off the ids, prices and call format it must copy
    repetition_penalty: float = Field(1.0, ge=1.0, le=2.0)
    max_message_chars: int = Field(2000, ge=1)
    seed: int = 0

    # reorder recommendations
    reorder_model_dir: Path | None = SHIPPED_REORDER_MODEL  # None: heuristics only, no learned parts
    reorder_limit: int = Field(5, ge=1, le=10)  # cards per suggest_reorder answer
    shop_now: datetime | None = None  # a fixed "now" for the shop's clock (demos, tests); None: the real clock

    # server (docs/protocol.md): every limit of `shopbot serve`, enforced in server/
    demo_mode: bool = False  # demo shop page mints tokens for ?customer=...; allows the built-in demo secret
    secret_key: str = ""  # HS256 key for customer tokens, >= 32 characters; required unless demo_mode
    token_ttl_minutes: int = Field(60, ge=1, le=60 * 24 * 30)
    allowed_origins: list[str] = ["http://127.0.0.1:8000", "http://localhost:8000"]  # plus the server's own
    max_frame_bytes: int = Field(65536, ge=1024)  # bigger WebSocket frames close the connection with 1009
    messages_per_minute_per_connection: int = Field(20, ge=1)
    messages_per_minute_per_customer: int = Field(30, ge=1)  # anonymous visitors: per client address
    max_concurrent_generations: int = Field(16, ge=1)  # capped by max_batch_size (1 with sequential generation)
    max_queued_generations: int = Field(32, ge=0)  # beyond: close 1013
    idle_timeout_s: float = Field(600.0, gt=0)
    ping_interval_s: float = Field(20.0, gt=0)
    agent_api_key: str = ""  # X-Agent-Key for the agent API; empty: the agent API is off
    handoff_webhook_url: str = ""  # empty: no webhook
    handoff_webhook_secret: str = ""
    webhook_timeout_s: float = Field(5.0, gt=0)

    @model_validator(mode="after")
    def _derive_paths(self) -> Settings:
        if self.adapter_path is None and (SHIPPED_ADAPTER / "adapter_config.json").is_file():
            self.adapter_path = str(SHIPPED_ADAPTER)
        if self.routing_examples is None and self.adapter_path and (Path(self.adapter_path) / ROUTING_FILE).is_file():
            self.routing_examples = Path(self.adapter_path) / ROUTING_FILE
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
