"""One BLAS thread policy for every entry point: the CLI, the examples and the benchmarks."""

import ast
import sys
from pathlib import Path

import pytest

from tinygrad_seq._threads import THREAD_VARIABLES, limit_blas_threads

ROOT = Path(__file__).resolve().parents[1]


def blas_threads():
    from threadpoolctl import threadpool_info

    return {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}


@pytest.fixture
def no_thread_variables(monkeypatch):
    for name in THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_blas_runs_on_one_thread_inside_and_as_before_after(no_thread_variables):
    pytest.importorskip("threadpoolctl")
    before = blas_threads()
    with limit_blas_threads():
        assert blas_threads() == {1}
    assert blas_threads() == before


def test_a_thread_count_the_user_chose_is_respected(no_thread_variables, monkeypatch):
    pytest.importorskip("threadpoolctl")
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")
    before = blas_threads()
    with limit_blas_threads():
        assert blas_threads() == before


def test_without_threadpoolctl_nothing_changes(no_thread_variables, monkeypatch):
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)  # import now raises ImportError
    with limit_blas_threads():
        pass


def calls_limit_blas_threads(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return any(
        isinstance(node, ast.Call) and getattr(node.func, "id", None) == "limit_blas_threads"
        for node in ast.walk(tree)
    )


ENTRY_POINTS = sorted(ROOT.glob("examples/*.py")) + sorted(ROOT.glob("benchmarks/*.py"))
ENTRY_POINTS += [ROOT / "tinygrad_seq" / "cli" / "__init__.py"]


@pytest.mark.parametrize("path", ENTRY_POINTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_entry_point_limits_blas_threads_the_same_way(path):
    assert calls_limit_blas_threads(path), f"{path.name} does not call limit_blas_threads()"
