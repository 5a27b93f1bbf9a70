"""The runtime changes only a model it loaded itself: int8 serving hands float layers back, a shared model keeps them."""

from bot.runtime import Runtime
from bot.settings import Settings
from tests.conftest import MODEL_CACHE


def settings() -> Settings:
    return Settings(model_cache_dir=MODEL_CACHE, use_adapter=False, linear_kernel="int8", max_batch_size=2)


def q_proj_weight(loaded):
    return loaded.model.model.layers[0].self_attn.q_proj.weight


def test_a_model_handed_to_the_runtime_keeps_its_float_weights(loaded_model):
    runtime = Runtime(settings())
    runtime.loaded_model = loaded_model
    try:
        assert runtime.generator.forward.kernel == "int8"
        assert q_proj_weight(loaded_model).numel() > 0
    finally:
        runtime.close()


def test_a_model_the_runtime_loaded_is_served_from_its_packed_weights_alone():
    runtime = Runtime(settings())
    try:
        assert runtime.generator.forward.kernel == "int8"
        assert q_proj_weight(runtime.loaded_model).numel() == 0
        assert "".join(runtime.generator.stream([{"role": "user", "content": "Say hello."}], max_new_tokens=4))
    finally:
        runtime.close()
