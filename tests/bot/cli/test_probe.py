"""`shopbot bench probe`: what a WebSocket client sees of a running server, one JSON object."""

from __future__ import annotations

import asyncio
import json
import os

from typer.testing import CliRunner

from bot.cli.main import app
from bot.cli.probe import QUESTIONS, main
from tests.server.conftest import ScriptedGenerator, start_server, tiny_settings, tiny_shop_dir  # noqa: F401

PIECES = ["Our", " oat", " milk", " is", " vegan", "."]


def test_the_probe_times_every_answer_a_real_server_streams(tiny_shop_dir, embedder):  # noqa: F811
    generator = ScriptedGenerator(PIECES, delay_s=0.01)
    with start_server(tiny_settings(tiny_shop_dir), generator=generator, embedder=embedder) as live:
        result = asyncio.run(main(live.ws_url, live.token("C1"), os.getpid(), one_conversation=True))
        cli = CliRunner().invoke(app, ["bench", "probe", "--url", live.ws_url])
    assert [a["tokens"] for a in result["answers"]] == [len(PIECES)] * len(QUESTIONS)
    assert all(a["ttft_s"] is not None and a["ttft_s"] > 0 for a in result["answers"])
    assert result["tokens_per_s_median"] > 0 and result["server_rss_mib"] > 0
    assert cli.exit_code == 0, cli.output
    assert len(json.loads(cli.output)["answers"]) == len(QUESTIONS)
