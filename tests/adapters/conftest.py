from __future__ import annotations

from datetime import datetime

import pytest


@pytest.fixture(scope="package")
def demo_settings(demo_dir):
    from bot.settings import Settings

    return Settings(data_dir=demo_dir, shop_now=datetime(2026, 11, 20, 12, 0), use_adapter=False)


@pytest.fixture(scope="package")
def builder(demo_settings, demo_store, demo_retriever, loaded_model):
    from adapters.data import DataBuilder

    return DataBuilder(demo_settings, demo_store, demo_retriever, loaded_model.tokenizer)
