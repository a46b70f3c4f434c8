"""Imports flow one way (ops -> modes -> engine -> tensor -> nn -> ... -> cli), checked by ast."""

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "tinygrad_seq"

# Lower layers never import higher ones. Modules of the same layer don't import each other.
LAYERS = [
    {"ops", "data", "devices"},  # devices: torch's device names, for a CPU-only library
    {"modes", "_anomaly"},  # the per-thread switches; anomaly mode's checks
    {"engine"},
    {"_tensor"},
    {"scan", "autograd", "factories", "functions"},
    {"testing", "nn", "utils", "onnx"},  # utils: torch.utils.data's loaders
    {"optim", "serialization"},  # serialization saves whole nn.Modules
    {"viz", "charlm"},  # charlm trains with nn + optim + data; it never draws (the CLI combines)
    {"cli", "exercises"},  # exercises checks the docs' exercises with everything below it
    {"__main__"},
]
RANK = {name: i for i, layer in enumerate(LAYERS) for name in layer}


def top_module(path):
    """'nn' for tinygrad_seq/nn/rnn.py, 'viz' for tinygrad_seq/viz.py or viz/x.py."""
    rel = path.relative_to(PACKAGE).with_suffix("")
    return rel.parts[0]


def imported_package_modules(path):
    tree = ast.parse(path.read_text())
    base = path.relative_to(PACKAGE).parent.parts  # the subpackage the file sits in
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the file's package
                parts = list(base[: len(base) - (node.level - 1)] if node.level > 1 else base)
                parts += node.module.split(".") if node.module else []
                names = [parts[0]] if parts else [alias.name for alias in node.names]
            elif node.module and node.module.startswith("tinygrad_seq."):
                names = [node.module.split(".")[1]]
            elif node.module == "tinygrad_seq":
                names = [alias.name for alias in node.names]
            else:
                continue
            yield from names
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("tinygrad_seq."):
                    yield alias.name.split(".")[1]


def test_imports_flow_one_way():
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        me = top_module(path)
        if me == "__init__":
            continue
        for other in imported_package_modules(path):
            if other == me or other not in RANK:
                continue
            if me not in RANK:
                problems.append(f"{path.name}: module '{me}' has no layer in LAYERS")
            elif RANK[other] >= RANK[me] and other != me:
                problems.append(
                    f"{path.relative_to(PACKAGE)} imports '{other}' (same or higher layer)"
                )
    assert not problems, "\n".join(problems)


def test_ops_imports_only_numpy():
    tree = ast.parse((PACKAGE / "ops.py").read_text())
    modules = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    modules |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert modules <= {"numpy"}, modules


def _in_a_fresh_interpreter(script):
    """What ``script`` prints as JSON, run by a new Python importing this checkout."""
    env = {**os.environ, "PYTHONPATH": str(PACKAGE.parent)}  # this checkout, not another
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True
    )
    return json.loads(done.stdout)


def test_importing_the_package_leaves_the_apps_unloaded():
    """`import tinygrad_seq` is the library; the char-LM app (charlm, its data, the CLI) loads
    on an explicit import, as any submodule: there is no lazy attribute for them."""
    before, had, after = _in_a_fresh_interpreter(
        "import json, sys, tinygrad_seq as tg\n"
        "before = sorted(m for m in sys.modules if m.startswith('tinygrad_seq.'))\n"
        "had = [hasattr(tg, name) for name in ('charlm', 'data', 'onnx', 'cli')]\n"
        "import tinygrad_seq.charlm, tinygrad_seq.onnx\n"
        "after = [tg.charlm.CharLM.__name__, tg.data.CharVocab.__name__, tg.onnx.__name__]\n"
        "print(json.dumps([before, had, after]))\n"
    )
    for app in ("tinygrad_seq.charlm", "tinygrad_seq.data", "tinygrad_seq.cli"):
        assert app not in before
    assert "tinygrad_seq.nn.rnn" in before  # the check sees the package's modules
    assert had == [False, False, False, False]
    assert after == ["CharLM", "CharVocab", "tinygrad_seq.onnx"]


def test_dir_of_the_package_is_its_public_names_and_submodules():
    # no private helper, no module the package imports for itself (numpy), no private module
    names, public, loaded = _in_a_fresh_interpreter(
        "import json, sys, tinygrad_seq as tg\n"
        "import tinygrad_seq.charlm\n"
        "loaded = sorted({m.split('.')[1] for m in sys.modules if m.startswith('tinygrad_seq.')})\n"
        "print(json.dumps([dir(tg), tg.__all__, loaded]))\n"
    )
    submodules = [m for m in loaded if not m.startswith("_")]
    assert names == sorted({*public, *submodules})
    assert not [n for n in names if n.startswith("_")] and "np" not in names
    assert {"charlm", "data", "nn", "engine"} <= set(names)


def _names_imported_from_ops(path):
    tree = ast.parse(path.read_text())
    return {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.module.endswith("ops")
        for alias in node.names
    }


def test_the_sweep_and_the_loop_writer_know_no_primitive():
    # how a gradient is added up is learnt from what a VJP returns (ops' declared gradient forms),
    # never from which op it is: no derivative knowledge outside ops.py
    forms = {"IndexedGrad", "ProductGrad", "Placeholder"}
    for module in ("engine.py", "scan/source.py", "scan/record.py"):
        names = _names_imported_from_ops(PACKAGE / module)
        assert names <= forms, f"{module} imports {sorted(names - forms)} from ops"
