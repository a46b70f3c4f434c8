"""docs/api.md names every public name of the package (regenerate it with docs/gen_api.py).

A module's public names are its ``__all__``, or else the functions and classes it defines whose
names do not start with "_". Each must appear in api.md in backticks: `name` or `name(...)`.
"""

import argparse
import importlib
import importlib.util
import inspect
import pathlib
import re

import pytest

import tinygrad_seq
from tinygrad_seq import cli, ops

ROOT = pathlib.Path(__file__).resolve().parent.parent
API = ROOT / "docs" / "api.md"
HINT = "docs/api.md is out of date: run python docs/gen_api.py"

# the modules the reference must cover; every module exported by the top level joins them
MODULES = [
    "tinygrad_seq",
    "tinygrad_seq.tensor",
    "tinygrad_seq.engine",
    "tinygrad_seq.ops",
    "tinygrad_seq.scan",
    "tinygrad_seq.testing",
    "tinygrad_seq.nn",
    "tinygrad_seq.nn.functional",
    "tinygrad_seq.nn.init",
    "tinygrad_seq.nn.utils",
    "tinygrad_seq.optim",
    "tinygrad_seq.data",
    "tinygrad_seq.serialization",
    "tinygrad_seq.viz",
    "tinygrad_seq.cli",
]
MODULES += [
    v.__name__
    for v in vars(tinygrad_seq).values()
    if inspect.ismodule(v) and v.__name__.startswith("tinygrad_seq.") and v.__name__ not in MODULES
]


def _load_generator():
    spec = importlib.util.spec_from_file_location("gen_api", ROOT / "docs" / "gen_api.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


public_names = _load_generator().public_names  # one definition of "public", shared with the docs


@pytest.fixture(scope="module")
def api_text():
    assert API.exists(), HINT
    return API.read_text(encoding="utf-8")


def mentioned(name, text):
    return re.search(r"`" + re.escape(name) + r"[`(]", text) is not None


@pytest.mark.parametrize("module_name", MODULES)
def test_every_public_name_is_documented(module_name, api_text):
    module = importlib.import_module(module_name)
    assert f"## `{module_name}`" in api_text, f"no section for {module_name}; {HINT}"
    missing = [name for name in public_names(module) if not mentioned(name, api_text)]
    assert not missing, f"{module_name}: {missing} not in docs/api.md; {HINT}"


def test_every_tensor_method_and_property_is_documented(api_text):
    names = [name for name in vars(tinygrad_seq.Tensor) if not name.startswith("_")]
    missing = [name for name in names if not mentioned(name, api_text)]
    assert not missing, f"Tensor members {missing} not in docs/api.md; {HINT}"


def test_every_builtin_primitive_and_the_registry_are_documented(api_text):
    for name in ("primitive", "Primitive", "REGISTRY", "BUILTIN"):
        assert mentioned(name, api_text), name
    missing = [name for name in sorted(ops.BUILTIN) if f"| `{name}` |" not in api_text]
    assert not missing, f"primitives {missing} not in the table of docs/api.md; {HINT}"


def test_every_cli_command_is_documented(api_text):
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    missing = [name for name in sub.choices if f"### `{name}`" not in api_text]
    assert not missing, f"commands {missing} not in docs/api.md; {HINT}"


def test_the_check_finds_a_missing_name():
    assert mentioned("no_grad", "use `no_grad` here") and mentioned("f", "call `f(x)`")
    assert not mentioned("grad", "use `no_grad` here")


def test_api_reference_is_current():
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, str(ROOT / "docs" / "gen_api.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, f"{HINT}\n{result.stdout}{result.stderr}"
