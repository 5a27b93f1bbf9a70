"""The demo shop: a grocery-and-household shop written for shopbot, generated from a seed."""

from pathlib import Path

DEMO_DIR = Path(__file__).resolve().parent
DEMO_DATA_DIR = DEMO_DIR / "data"
RETRIEVAL_CASES = DEMO_DIR / "retrieval_cases.jsonl"
