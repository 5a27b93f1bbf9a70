"""Continuous batching with the real model: batched answers are the answers one-at-a-time decoding gives,
a request joining a running batch streams at once, and a cancelled request gives its slot back."""

import threading
import time

import pytest
import torch

from bot.inference.generator import GenerationStats, SamplingConfig, TransformersGenerator
from bot.inference.scheduler import MIN_PREFILL_TOKENS, BatchLimits, BatchScheduler, Request, prefill_budget
from bot.inference.slot_cache import CAPACITY_STEP

SYSTEM = (
    "You are the customer-service assistant of Green Basket Market. Answer in one or two short sentences, "
    "using only these facts. Barista Oat Milk costs $3.49 and 12 are in stock. Free delivery over $50. "
    "Returns are accepted within 30 days with the receipt. Order 5302 shipped with tracking GBC-261109-02330."
)
QUESTIONS = [
    "How much is the oat milk?",
    "Is delivery free?",
    "Where is order 5302? Please give me the tracking number and tell me when it ships, thanks a lot.",
    "Can I return things?",
]
GREEDY = SamplingConfig(max_new_tokens=12, repetition_penalty=1.0)
# transformers' own forward computes its linears with ATen in float: batched answers compared with it use the same
FLOAT = "aten"


def chat(question: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": question}]


@pytest.fixture(scope="module")
def sequential_answers(loaded_model):
    single = TransformersGenerator(loaded_model, GREEDY)
    return ["".join(single.stream(chat(q))) for q in QUESTIONS]


@pytest.fixture
def scheduler(loaded_model, request):
    limits = getattr(request, "param", BatchLimits(max_batch_size=4))
    s = BatchScheduler(loaded_model, GREEDY, limits, kernel=FLOAT)
    yield s
    s.close()


def run_together(scheduler, questions, max_new_tokens=None):
    answers = [None] * len(questions)

    def one(i):
        answers[i] = "".join(scheduler.stream(chat(questions[i]), max_new_tokens=max_new_tokens))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(questions))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return answers


def wait_until(condition, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_batched_greedy_answers_equal_one_at_a_time_answers(scheduler, sequential_answers):
    assert run_together(scheduler, QUESTIONS) == sequential_answers
    assert all(sequential_answers)


@pytest.mark.parametrize("kernel", ["aten", "onednn"])
def test_either_matmul_kernel_gives_the_one_at_a_time_answers(loaded_model, sequential_answers, kernel):
    s = BatchScheduler(loaded_model, GREEDY, BatchLimits(max_batch_size=4), kernel=kernel)
    try:
        assert s.forward.kernel == kernel
        assert run_together(s, QUESTIONS) == sequential_answers
    finally:
        s.close()


def test_int8_linears_answer_the_same_whatever_else_is_in_the_batch(loaded_model):
    """(How close int8 answers are to float32 ones is `shopbot eval answers`' to say: see the README.)"""
    s = BatchScheduler(loaded_model, GREEDY, BatchLimits(max_batch_size=4), kernel="int8")
    try:
        alone = ["".join(s.stream(chat(q))) for q in QUESTIONS]
        assert all(alone)
        assert run_together(s, QUESTIONS) == alone
    finally:
        s.close()


def test_int8_hands_the_float_layers_back_where_asked_and_answers_the_same(loaded_model):
    from bot.inference.model import load_model
    from tests.conftest import MODEL_CACHE

    own = load_model(None, MODEL_CACHE)
    kept = BatchScheduler(loaded_model, GREEDY, BatchLimits(max_batch_size=2), kernel="int8")
    released = BatchScheduler(own, GREEDY, BatchLimits(max_batch_size=2), kernel="int8", release_float_weights=True)
    try:
        layer = own.model.model.layers[3]
        assert layer.self_attn.q_proj.weight.numel() == 0 and layer.mlp.down_proj.weight.numel() == 0
        assert loaded_model.model.model.layers[3].self_attn.q_proj.weight.numel() > 0  # not asked: kept
        assert own.model.lm_head.weight.numel() > 0  # tied to the embeddings, which still read it
        assert ["".join(released.stream(chat(q))) for q in QUESTIONS[:2]] == [
            "".join(kept.stream(chat(q))) for q in QUESTIONS[:2]
        ]
    finally:
        kept.close()
        released.close()


def test_a_bfloat16_cache_beside_float32_weights_holds_half_the_bytes_and_gives_the_same_answers(
    loaded_model, sequential_answers
):
    assert loaded_model.model.dtype == torch.float32
    s = BatchScheduler(loaded_model, GREEDY, BatchLimits(max_batch_size=4), kernel=FLOAT, cache_dtype=torch.bfloat16)
    try:
        assert all(layer.dtype == torch.bfloat16 for layer in s.cache.kv)
        assert run_together(s, QUESTIONS) == sequential_answers
    finally:
        s.close()


def test_answers_growing_the_cache_past_its_first_capacity_step_stay_the_same(loaded_model):
    """The slot cache starts with room for CAPACITY_STEP positions and grows while these answers decode."""
    longer = SamplingConfig(max_new_tokens=48, min_new_tokens=48, repetition_penalty=1.0)
    single = TransformersGenerator(loaded_model, longer)
    expected = ["".join(single.stream(chat(q))) for q in QUESTIONS]
    s = BatchScheduler(loaded_model, longer, BatchLimits(max_batch_size=4), kernel=FLOAT)
    try:
        assert run_together(s, QUESTIONS) == expected
        assert s.cache.capacity > CAPACITY_STEP
    finally:
        s.close()


def test_the_cache_shrinks_back_once_a_long_conversation_ends_and_the_others_answer_the_same(loaded_model):
    """Decode attention reads every slot up to the capacity: one long prompt must not slow the steps after it."""
    longer = SamplingConfig(max_new_tokens=40, min_new_tokens=40, repetition_penalty=1.0)
    expected = "".join(TransformersGenerator(loaded_model, longer).stream(chat(QUESTIONS[0])))
    long_chat = [{"role": "system", "content": " ".join([SYSTEM] * 8)}, {"role": "user", "content": QUESTIONS[1]}]
    s = BatchScheduler(loaded_model, longer, BatchLimits(max_batch_size=2), kernel=FLOAT)
    try:
        assert s.count_tokens(long_chat) > 4 * CAPACITY_STEP
        long_answer = s.stream(long_chat, max_new_tokens=2)
        short_answer = s.stream(chat(QUESTIONS[0]))
        assert "".join(long_answer)
        assert "".join(short_answer) == expected
        assert s.cache.capacity <= 2 * CAPACITY_STEP  # the short conversation's length and one step of room
    finally:
        s.close()


@pytest.mark.parametrize("scheduler", [BatchLimits(max_batch_size=4, prefill_chunk_tokens=16)], indirect=True)
def test_prompts_fed_in_small_chunks_give_the_same_answers(scheduler, sequential_answers):
    assert run_together(scheduler, QUESTIONS) == sequential_answers


def test_shoppers_arriving_together_with_the_same_facts_compute_them_once_and_answer_the_same(
    loaded_model, sequential_answers
):
    """Both prompts are admitted before either is read; the second copies the shared system prompt the first read."""
    s = BatchScheduler(loaded_model, GREEDY, BatchLimits(max_batch_size=2, min_prefix_reuse=16), kernel=FLOAT)
    fed = []
    forward = s.forward

    def recording(segments):
        fed.append(sum(len(seg.tokens) for seg in segments if len(seg.tokens) > 1 or seg.start == 0))
        return forward(segments)

    s.forward = recording
    try:
        prompts = [s.single.encode(chat(q)) for q in QUESTIONS[:2]]
        shared = next(i for i, (a, b) in enumerate(zip(*prompts)) if a != b)
        assert shared > 40  # the system prompt
        with s._wake:  # both admitted at the scheduler's next step, before either prompt is read
            streams = [s.stream(chat(q)) for q in QUESTIONS[:2]]
        assert ["".join(stream) for stream in streams] == sequential_answers[:2]
        assert sum(fed) == len(prompts[0]) + len(prompts[1]) - shared
        counts = s.status()
        assert counts["prompt_tokens"] == len(prompts[0]) + len(prompts[1])
        assert counts["prompt_tokens_computed"] == sum(fed)
    finally:
        s.close()


def test_prompts_arriving_together_are_read_shortest_first_and_answer_the_same(loaded_model, sequential_answers):
    """The long question arrives first; the short one is read first, whole, in the first step."""
    s = BatchScheduler(
        loaded_model,
        GREEDY,
        BatchLimits(max_batch_size=2, prefill_chunk_tokens=16, min_prefix_reuse=10_000),
        kernel=FLOAT,
    )
    steps = []
    forward = s.forward

    def recording(segments):
        steps.append([seg.tokens for seg in segments if len(seg.tokens) > 1])
        return forward(segments)

    s.forward = recording
    try:
        long, short = (s.single.encode(chat(QUESTIONS[i])) for i in (2, 0))
        assert len(long) > len(short)
        with s._wake:
            streams = [s.stream(chat(QUESTIONS[i])) for i in (2, 0)]
        assert ["".join(stream) for stream in streams] == [sequential_answers[2], sequential_answers[0]]
        assert steps[0] == [short]
    finally:
        s.close()


def test_a_long_prompt_that_has_waited_is_read_before_a_shorter_newcomer(loaded_model):
    s = BatchScheduler(loaded_model, GREEDY, BatchLimits(max_batch_size=2), kernel=FLOAT)
    try:
        s.prefill_tokens_per_s = 1000.0
        waited, newcomer = Request(list(range(1000, 1600)), 12, 0), Request(list(range(2000, 2100)), 12, 0)
        newcomer.submitted = waited.submitted + 1.0  # 600 tokens are 0.6 s: the newcomer could not finish first
        assert sorted([newcomer, waited], key=s._prefill_order) == [waited, newcomer]
        newcomer.submitted = waited.submitted + 0.1
        assert sorted([waited, newcomer], key=s._prefill_order) == [newcomer, waited]
    finally:
        s.close()


def test_the_prefill_chunk_shrinks_to_what_the_cpu_reads_in_the_step_time():
    limits = BatchLimits(prefill_chunk_tokens=512, prefill_step_s=0.4)
    assert prefill_budget(None, limits) == 512  # nothing measured yet
    assert prefill_budget(2500.0, limits) == 512  # a fast CPU: the cap
    assert prefill_budget(400.0, limits) == 160  # a slow one: 0.4 s worth
    assert prefill_budget(1.0, limits) == MIN_PREFILL_TOKENS  # a prompt always advances


@pytest.mark.parametrize("scheduler", [BatchLimits(max_batch_size=4, prefill_chunk_tokens=16)], indirect=True)
def test_a_prompt_nobody_waits_beside_is_read_in_one_step_whatever_the_chunk_size(scheduler, sequential_answers):
    fed = []
    forward = scheduler.forward

    def recording(segments):
        fed.append(sum(len(s.tokens) for s in segments))
        return forward(segments)

    scheduler.forward = recording
    prompt = scheduler.single.encode(chat(QUESTIONS[2]))
    assert "".join(scheduler.stream(chat(QUESTIONS[2]))) == sequential_answers[2]
    assert fed[0] == len(prompt) > 16
    assert fed[1:] == [1] * (len(fed) - 1)


@pytest.mark.parametrize("scheduler", [BatchLimits(max_batch_size=4, prefill_step_s=1e-6)], indirect=True)
def test_a_new_prompt_beside_a_streaming_answer_is_fed_within_the_step_time(scheduler, sequential_answers):
    fed_beside_a_decode = []
    forward = scheduler.forward

    def recording(segments):
        if any(len(s.tokens) == 1 for s in segments):
            fed_beside_a_decode.append(sum(len(s.tokens) for s in segments if len(s.tokens) > 1))
        return forward(segments)

    scheduler.forward = recording
    long = scheduler.stream(chat(QUESTIONS[2]), max_new_tokens=40)
    next(long)  # streaming; its prompt was read whole (nobody waited) and measured the speed
    assert "".join(scheduler.stream(chat(QUESTIONS[3]))) == sequential_answers[3]
    long.close()
    assert scheduler.prefill_tokens_per_s > 0
    assert fed_beside_a_decode and max(fed_beside_a_decode) <= MIN_PREFILL_TOKENS


def test_a_repeated_prompt_reuses_the_cached_prefix_and_answers_the_same(scheduler, sequential_answers):
    assert "".join(scheduler.stream(chat(QUESTIONS[0]))) == sequential_answers[0]
    prompt = scheduler.single.encode(chat(QUESTIONS[1]))
    slot, reused = scheduler.cache.acquire(prompt)
    scheduler.cache.release(slot)
    assert reused > 40  # the system prompt is not computed again
    assert "".join(scheduler.stream(chat(QUESTIONS[1]))) == sequential_answers[1]


def test_a_request_arriving_mid_batch_streams_before_the_running_one_ends(scheduler):
    long_stats = GenerationStats()
    long_stream = scheduler.stream(chat(QUESTIONS[2]), max_new_tokens=60, stats=long_stats)
    next(long_stream)  # the long answer is running
    done = threading.Event()

    def drain():
        for _ in long_stream:
            pass
        done.set()

    threading.Thread(target=drain).start()
    late = scheduler.stream(chat(QUESTIONS[0]), max_new_tokens=4)
    assert next(late)
    assert not done.is_set(), "the late request waited for the running answer to finish"
    assert long_stats.completion_tokens < 60
    late.close()
    done.wait(120)


@pytest.mark.parametrize("scheduler", [BatchLimits(max_batch_size=1)], indirect=True)
def test_a_cancelled_request_frees_its_slot_at_once(scheduler):
    stats = GenerationStats()
    stream = scheduler.stream(chat(QUESTIONS[2]), max_new_tokens=200, stats=stats)
    next(stream)
    assert scheduler.status()["free_slots"] == 0
    stream.close()
    wait_until(lambda: scheduler.status()["free_slots"] == 1)
    assert stats.finish_reason == "cancelled" and stats.completion_tokens < 200
    # the only slot serves the next shopper
    assert "".join(scheduler.stream(chat(QUESTIONS[0]), max_new_tokens=3))


@pytest.mark.parametrize("scheduler", [BatchLimits(max_batch_size=1)], indirect=True)
def test_requests_beyond_the_batch_wait_in_order_and_all_finish(scheduler, sequential_answers):
    assert run_together(scheduler, QUESTIONS[:3]) == sequential_answers[:3]


@pytest.mark.parametrize("scheduler", [BatchLimits(max_batch_size=2, max_len=64)], indirect=True)
def test_a_prompt_over_the_sequence_limit_is_refused_with_the_setting_to_change(scheduler):
    with pytest.raises(ValueError, match="max_prompt_tokens or max_new_tokens"):
        scheduler.stream(chat(QUESTIONS[2]), max_new_tokens=32)
    assert scheduler.status()["waiting"] == 0


def test_finish_reasons_and_token_counts_are_reported(scheduler):
    stats = GenerationStats()
    "".join(scheduler.stream(chat(QUESTIONS[1]), max_new_tokens=3, stats=stats))
    assert stats.finish_reason == "length" and stats.completion_tokens == 3
    assert 0 < stats.ttft_s <= stats.total_s
    assert stats.prompt_tokens == scheduler.count_tokens(chat(QUESTIONS[1]))


def test_min_new_tokens_keeps_a_short_answer_going_in_both_generators(loaded_model):
    """Benchmarks measure decoding over long answers: neither generator may end before min_new_tokens."""
    question = [{"role": "user", "content": "Reply with just the word OK."}]
    short = GenerationStats()
    "".join(TransformersGenerator(loaded_model, SamplingConfig(max_new_tokens=40)).stream(question, stats=short))
    assert short.finish_reason == "stop" and short.completion_tokens < 20
    held = SamplingConfig(max_new_tokens=40, min_new_tokens=20)
    sequential, batched = GenerationStats(), GenerationStats()
    one = "".join(TransformersGenerator(loaded_model, held).stream(question, stats=sequential))
    scheduler = BatchScheduler(loaded_model, held, BatchLimits(max_batch_size=2), kernel=FLOAT)
    try:
        together = "".join(scheduler.stream(question, stats=batched))
    finally:
        scheduler.close()
    assert sequential.completion_tokens >= 20 and batched.completion_tokens >= 20
    assert one == together


DRAFTING = BatchLimits(max_batch_size=4, draft_tokens=6)
TRACKING = QUESTIONS[2]  # its answer copies the tracking number from the prompt: guesses are taken there


def answer_alone(scheduler, question, sampling=None):
    stats = GenerationStats()
    text = "".join(scheduler.stream(chat(question), stats=stats))
    return text, stats


def test_guessed_tokens_leave_greedy_answers_as_one_at_a_time_decoding_gives_them_in_fewer_steps(
    loaded_model, sequential_answers
):
    drafting = BatchScheduler(loaded_model, GREEDY, DRAFTING, kernel=FLOAT)
    plain = BatchScheduler(loaded_model, GREEDY, BatchLimits(max_batch_size=4), kernel=FLOAT)
    try:
        assert [answer_alone(drafting, q)[0] for q in QUESTIONS] == sequential_answers
        assert [answer_alone(plain, q)[0] for q in QUESTIONS] == sequential_answers
        assert drafting.steps < plain.steps
    finally:
        drafting.close()
        plain.close()


def test_guessing_changes_no_sampled_token_either(loaded_model):
    """Each token is drawn from the same logits with the same random draws, guessed or not."""
    sampled = SamplingConfig(max_new_tokens=32, temperature=0.7, top_p=0.9, repetition_penalty=1.0, seed=7)
    drafting = BatchScheduler(loaded_model, sampled, DRAFTING, kernel=FLOAT)
    plain = BatchScheduler(loaded_model, sampled, BatchLimits(max_batch_size=4), kernel=FLOAT)
    try:
        guessed = answer_alone(drafting, TRACKING)[0]
        assert guessed and guessed == answer_alone(plain, TRACKING)[0]
        assert drafting.steps < plain.steps  # some guesses were sampled, so taken
    finally:
        drafting.close()
        plain.close()


def test_a_guess_never_takes_an_answer_past_its_token_budget(loaded_model):
    s = BatchScheduler(loaded_model, GREEDY, DRAFTING, kernel=FLOAT)
    try:
        for budget in (1, 2, 5):
            stats = GenerationStats()
            "".join(s.stream(chat(TRACKING), max_new_tokens=budget, stats=stats))
            assert stats.completion_tokens == budget and stats.finish_reason == "length"
    finally:
        s.close()


def test_a_guessed_answer_leaves_its_slot_holding_exactly_the_tokens_it_computed(loaded_model):
    """The rejected guesses' positions are dropped, so the next turn's prefix reuse sees the true answer."""
    s = BatchScheduler(loaded_model, GREEDY, DRAFTING, kernel=FLOAT)
    try:
        request = s.submit(s.single.encode(chat(TRACKING)), 24)
        tokens = []
        while not isinstance(item := request.out.get(timeout=60), tuple):
            tokens.append(item)
        assert request.slot.tokens == request.prompt + tokens[:-1]
        assert s.steps < len(tokens)  # guesses were taken
    finally:
        s.close()


def test_an_unmerged_adapter_runs_through_the_layers_own_modules_and_answers_as_one_at_a_time(tmp_path):
    """A LoRA kept switchable (`merge_adapter=false`) wraps the projections: those layers are not fused."""
    from bot.inference.model import load_model
    from tests.adapters.test_model_adapters import make_adapter
    from tests.conftest import MODEL_CACHE

    loaded = load_model(None, MODEL_CACHE, adapter_path=make_adapter(tmp_path / "shop", 3), merge_adapter=False)
    expected = ["".join(TransformersGenerator(loaded, GREEDY).stream(chat(q))) for q in QUESTIONS[:2]]
    s = BatchScheduler(loaded, GREEDY, DRAFTING, kernel=FLOAT)
    try:
        assert all(f is None for f in s.forward.fused)
        assert run_together(s, QUESTIONS[:2]) == expected
    finally:
        s.close()
