"""The numbers the prose quotes are those docs/quoted_numbers.py measured last.

The script runs the experiments (minutes) and writes docs/quoted_numbers.json; these tests only
read that file and the prose, so they are fast, and they fail when a quote and the last
measurement part ways: rerun the script, then update the prose.
"""

import importlib.util
import string
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def qn():
    spec = importlib.util.spec_from_file_location("quoted_numbers", ROOT / "docs/quoted_numbers.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fields(template):
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_quote_equals_the_last_measurement(qn):
    values = qn.load_results()["values"]
    wanted = set().union(*(fields(template) for _, template in qn.QUOTES))
    assert wanted <= set(values), f"not measured yet: {sorted(wanted - set(values))}"
    for path, text in qn.quoted_texts(values):
        assert text in (ROOT / path).read_text(encoding="utf-8"), f"{path} should quote {text!r}"


def test_every_measurement_is_quoted_and_says_how_it_was_made(qn):
    results = qn.load_results()
    quoted = set().union(*(fields(template) for _, template in qn.QUOTES))
    made = {}
    for name, experiment in results["experiments"].items():
        assert name in qn.EXPERIMENTS and experiment["command"].startswith("python ")
        made.update(dict.fromkeys(experiment["values"], name))
    assert set(results["values"]) == set(made) == quoted


def test_the_quoted_texts_of_a_table_in_a_docstring_are_indented(qn):
    texts = qn.quoted_texts(
        {"adding_table": "| a |\n| b |"}
        | dict.fromkeys(set().union(*(fields(t) for _, t in qn.QUOTES)) - {"adding_table"}, 0)
    )
    tables = [text for path, text in texts if "| a |" in text]
    assert tables == ["    | a |\n    | b |", "| a |\n| b |"]  # the example's, then docs/gru.md's


def test_the_speed_table_takes_the_ratios_the_benchmark_prints(qn):
    out = (
        "| model | config (T, B, I, H) | step ms | by hand ms | ratio | op by op ms | ratio "
        "| no_grad ms | forward by hand ms | ratio | peak MiB | by hand MiB | ratio |"
        " torch fused ms (own process) | ratio | torch composed ms (own process) | ratio |\n"
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
        "| gru | char (100, 1, 65, 100) | 1.6 | 5.0 | 0.31x | 9.1 | 0.17x | 0.8 | 1.0 | 0.80x "
        "| 1.0 | 2.0 | 0.50x | 9.0 | 0.18x | 5.5 | 0.29x |\n"
    )
    table = qn.speed(out, 0.0)["speed_table"].splitlines()
    assert table[0] == (
        "| model | config (T, B, I, H) | vs NumPy by hand | no_grad vs forward by hand "
        "| peak memory vs by hand | vs op by op | vs torch fused |"
    )
    assert table[2:] == ["| gru | char (100, 1, 65, 100) | 0.31x | 0.80x | 0.50x | 0.17x | 0.18x |"]
    no_torch = out.replace(" torch fused ms (own process) | ratio |", "")
    with pytest.raises(ValueError, match="no rows with torch columns"):
        qn.speed(no_torch, 0.0)
