"""Write docs/api.md, the API reference, from the package's own docstrings and signatures.

    python docs/gen_api.py            # rewrite docs/api.md
    python docs/gen_api.py --check    # exit 1 if docs/api.md is not what this script writes

Run it after changing a public name, a signature or a docstring. A module's public names are its
``__all__``, or else the functions and classes it defines whose names do not start with "_"
(``tests/test_api_docs.py`` checks that each of them appears in api.md). Docstring examples
(``>>>``) become ``pycon`` blocks: the test suite runs them as doctests in the package, not from
this page.
"""

import argparse
import importlib
import inspect
import os
import pathlib
import re
import sys

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "docs" / "api.md"
sys.path.insert(0, str(ROOT))  # document this checkout's package, whatever else is installed

# (module, what to say before its entries); in reading order
SECTIONS = [
    (
        "tinygrad_seq",
        "What `import tinygrad_seq as tg` gives; each name is described in its module.",
    ),
    ("tinygrad_seq.tensor", "The Tensor and the functions over several tensors."),
    ("tinygrad_seq.engine", "The graph and the reverse sweep; the switches of the top level."),
    ("tinygrad_seq.ops", "The derivative table: every primitive's forward and VJPs."),
    ("tinygrad_seq.scan", "A loop over time as one graph node: the step recorded, then replayed."),
    ("tinygrad_seq.testing", "Gradient checks and hypothesis strategies, for your own ops too."),
    ("tinygrad_seq.nn", "Modules and layers, named as in `torch.nn`."),
    ("tinygrad_seq.nn.functional", "Functions of tensors, as `torch.nn.functional`."),
    ("tinygrad_seq.nn.init", "Initialisers from an explicit `np.random.Generator`."),
    ("tinygrad_seq.nn.utils", "Training utilities."),
    ("tinygrad_seq.optim", "Optimizers with PyTorch's update rules."),
    ("tinygrad_seq.data", "Corpora, vocabularies, batching and synthetic sequence tasks."),
    ("tinygrad_seq.serialization", "Checkpoints without pickle (`tg.save`, `tg.load`)."),
    ("tinygrad_seq.viz", "Computation graphs and gradient flow."),
    ("tinygrad_seq.charlm", "The character-level language model behind the CLI."),
    ("tinygrad_seq.cli", "The command line, `python -m tinygrad_seq <command>`."),
]


def public_names(module):
    """``__all__``, or the functions and classes defined in ``module`` not named with "_"."""
    if hasattr(module, "__all__"):
        return list(module.__all__)
    return [
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and (inspect.isfunction(value) or inspect.isclass(value))
        and getattr(value, "__module__", None) == module.__name__
    ]


def home_of(value, default):
    """The module where ``value`` is documented: where it is defined, if that module has a
    section, else ``default``."""
    module = getattr(value, "__module__", None)
    names = [m for m, _ in SECTIONS]
    if inspect.ismodule(value):
        return value.__name__ if value.__name__ in names else default
    while module and module not in names:
        module = module.rpartition(".")[0]
    return module or default


# One-line descriptions of public names whose docstring is missing (the source is the better place:
# a docstring there replaces the line here).
FALLBACK = {
    "zeros": "A tensor of zeros of the given shape (float32 unless `dtype` says otherwise).",
    "ones": "A tensor of ones of the given shape (float32 unless `dtype` says otherwise).",
    "Tensor.requires_grad": "Whether operations on this tensor are recorded for backward.",
    "Tensor.requires_grad_": "Set `requires_grad` in place and return self, as in PyTorch.",
    "Tensor.is_leaf": "True for tensors made by the user (not by an operation).",
    "Tensor.shape": "The shape of the array, a tuple.",
    "Tensor.ndim": "The number of axes.",
    "Tensor.dtype": "The NumPy dtype of the array.",
    "Tensor.size": "The number of elements.",
    "Tensor.item": "The value of a one-element tensor as a Python number.",
    "Tensor.tolist": "The values as (nested) Python lists.",
    "Tensor.exp": "e ** x, elementwise.",
    "Tensor.log": "The natural logarithm, elementwise.",
    "Tensor.sqrt": "The square root, elementwise.",
    "Tensor.abs": "The absolute value, elementwise.",
    "Tensor.tanh": "The hyperbolic tangent, elementwise.",
    "Tensor.sigmoid": "1 / (1 + exp(-x)), elementwise, computed stably.",
    "Tensor.relu": "max(x, 0), elementwise.",
    "Tensor.float": "Cast to float32 (differentiable).",
    "Tensor.double": "Cast to float64 (differentiable).",
    "Tensor.sum": "The sum over `axis` (all axes if None); PyTorch's `dim`/`keepdim` also work.",
    "Tensor.mean": "The mean over `axis` (all axes if None).",
    "Tensor.max": "The maximum over `axis`; tied maxima share the gradient.",
    "Tensor.min": "The minimum over `axis`; tied minima share the gradient.",
    "Tensor.logsumexp": "log(sum(exp(x))) over `axis`, computed without overflow.",
    "Tensor.log_softmax": "x - logsumexp(x) along `axis` (default: the last), computed as "
    "(x - max) - log(sum(exp(x - max))) so that large logits keep their digits.",
    "Tensor.softmax": "exp(x) / sum(exp(x)) along `axis` (default: the last), computed stably.",
    "Tensor.reshape": "The same values in a new shape: `reshape(2, 3)` or `reshape((2, 3))`.",
    "Tensor.flatten": "The values as one axis.",
    "Tensor.swapaxes": "Exchange two axes.",
    "Tensor.T": "All axes reversed (the transpose of a matrix).",
    "Tensor.unsqueeze": "Insert an axis of size 1 at `axis`.",
    "Tensor.squeeze": "Remove axes of size 1 (all of them, or `axis`).",
    "Tensor.split": "`tg.split(self, ...)`: pieces of the given size(s) along `axis`.",
    "Tensor.chunk": "`tg.chunk(self, ...)`: `chunks` pieces along `axis`.",
    "Tensor.grad": "The gradient accumulated by backward (an ndarray), None before.",
    "*.forward": "The computation; `module(...)` calls it.",
    "Module.modules": "This module and every descendant, depth first.",
    "Module.named_children": "(name, module) of the direct submodules.",
    "Module.children": "The direct submodules.",
    "Module.parameters": "Every parameter once, in registration order (for an optimizer).",
    "Module.train": "Set training mode (Dropout active) on every submodule; returns self.",
    "Module.eval": "Set evaluation mode on every submodule; returns self.",
    "Module.zero_grad": "Set every parameter's gradient to None.",
    "Module.float": "Cast every parameter to float32 in place; returns self.",
    "Module.double": "Cast every parameter to float64 in place; returns self.",
    "Optimizer.step": "One update of every parameter that has a gradient (defined by subclasses).",
    "ProductGrad.sum": "Add up a list of products as one matrix product.",
    "IndexedGrad.dense": "The gradient as a full array.",
    "IndexedGrad.add_to": "Add the value into `buffer` at the index, in place.",
    "add_*_parser": "Declare a command's options on the subparsers (see the command above).",
    "run_*": "Run a command from parsed arguments; returns the exit code.",
}


def _fallback(name):
    """FALLBACK's line for ``name`` ("Class.member" or a function), also by pattern: "*.forward",
    "run_*"."""
    if name in FALLBACK:
        return FALLBACK[name]
    member = name.rpartition(".")[2]
    if f"*.{member}" in FALLBACK:
        return FALLBACK[f"*.{member}"]
    for pattern in ("add_*_parser", "run_*"):
        head, _, tail = pattern.partition("*")
        if member.startswith(head) and member.endswith(tail) and "." not in name:
            return FALLBACK[pattern]
    return ""


# --- docstrings -> Markdown -----------------------------------------------------------------------

_ROLE = re.compile(r":(?:func|class|meth|attr|mod|data|obj):`~?([^`]+)`")
_PARAM = re.compile(r"^[a-z_][a-z_0-9]*: \S")  # an unindented "name: description" line
_SECTION = re.compile(r"^(Args|Arguments|Parameters|Returns|Raises|Yields|Note|Notes):\s*$")


def inline(text):
    """RST inline markup as Markdown: ``x`` -> `x`, :func:`f` -> `f`."""
    return _ROLE.sub(r"`\1`", text).replace("``", "`")


def markdown(doc):
    """A docstring as Markdown: prose, `pycon` blocks for examples, `text` blocks for indented
    literal blocks, bullet lists for Args/Returns/Raises sections."""
    lines, out, i = doc.splitlines(), [], 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if stripped.startswith(">>>"):
            block, i = _take_block(lines, i, lambda s: s.strip() != "")
            out += ["```pycon", *(b[indent:] for b in block), "```"]
        elif indent >= 4 and stripped and (not out or out[-1] == ""):
            pad = " " * indent
            block, i = _take_block(lines, i, lambda s, pad=pad: not s.strip() or s.startswith(pad))
            while block and not block[-1].strip():
                block.pop()
            lang = "pycon" if block[0].lstrip().startswith(">>>") else "text"
            out += [f"```{lang}", *(b[indent:] for b in block), "```", ""]
        elif _SECTION.match(stripped) or _opens_list(lines, i):
            out.append(f"**{stripped}**")
            out.append("")
            i = _section_items(lines, i + 1, out)
        elif _PARAM.match(line) and _param_list(lines, i, out):
            # "name: description" with indented continuation lines: one bullet
            item, i = [stripped], i + 1
            while i < len(lines) and lines[i].startswith("    "):
                item.append(lines[i].strip())
                i += 1
            name, _, rest = " ".join(item).partition(": ")
            out.append(f"- `{name}`: {inline(rest)}")
            if i < len(lines) and not _PARAM.match(lines[i]):
                out.append("")
        elif i + 1 < len(lines) and set(lines[i + 1].strip()) == {"-"} and stripped:
            out += [f"**{stripped}**", ""]  # a NumPy-style underlined heading
            i += 2
        else:
            text = inline(line.rstrip())
            out.append(text[:-1] if text.endswith("::") else text)
            i += 1
    return "\n".join(out).strip() + "\n"


def _param_list(lines, i, out):
    """Whether line ``i`` ("name: description") is an item of a parameter list: continued by
    indented lines, followed by another item, or following one."""
    following = lines[i + 1] if i + 1 < len(lines) else ""
    return (
        following.startswith("    ")
        or bool(_PARAM.match(following))
        or (bool(out) and out[-1].startswith("- `"))
    )


def _opens_list(lines, i):
    """A short line ending in ":" followed by more deeply indented lines ("Text:" then items)."""
    line = lines[i]
    if not line.rstrip().endswith(":") or len(line.strip()) > 40 or i + 1 >= len(lines):
        return False
    indent = len(line) - len(line.lstrip())
    following = lines[i + 1]
    return bool(following.strip()) and len(following) - len(following.lstrip()) > indent


def _take_block(lines, i, belongs):
    block = []
    while i < len(lines) and belongs(lines[i]):
        block.append(lines[i].rstrip())
        i += 1
    return block, i


def _section_items(lines, i, out):
    """Indented "name: description" lines as bullets; deeper lines continue the bullet."""
    base = None
    while i < len(lines) and (not lines[i].strip() or lines[i].startswith(" ")):
        line = lines[i]
        if not line.strip():
            if i + 1 < len(lines) and not lines[i + 1].startswith(" "):
                break
            i += 1
            continue
        indent = len(line) - len(line.lstrip())
        base = indent if base is None else base
        if indent <= base:
            out.append("- " + inline(line.strip()))
        else:
            out[-1] += " " + inline(line.strip())
        i += 1
    out.append("")
    return i


# --- entries --------------------------------------------------------------------------------------


def signature(name, value):
    try:
        sig = inspect.signature(value)
    except (TypeError, ValueError):
        return name
    # without annotations, as PyTorch's reference shows them: the docstring says the types
    params = [p.replace(annotation=inspect.Parameter.empty) for p in sig.parameters.values()]
    text = name + str(sig.replace(parameters=params, return_annotation=inspect.Signature.empty))
    # dtype defaults print as <class 'numpy.float32'> or dtype('float32'): show the spelling
    return re.sub(r"<class 'numpy\.(\w+)'>|dtype\('(\w+)'\)", lambda m: f"np.{m[1] or m[2]}", text)


def entry(name, value, level="###"):
    """The Markdown of one public name."""
    if inspect.isclass(value):
        text = f"{level} class `{signature(name, value)}`\n\n{_doc(value)}"
        return text + _members(value)
    if inspect.isfunction(value) or inspect.isbuiltin(value):
        return f"{level} `{signature(name, value)}`\n\n{_doc(value, name)}"
    if isinstance(value, type(np)):  # a module
        return f"{level} `{name}`\n\nThe module `{value.__name__}` (see its section).\n"
    return f"{level} `{name}`\n\n{_describe_value(value)}\n"


def _doc(value, name=None):
    doc = inspect.getdoc(value)
    if doc:
        return markdown(doc)
    return inline(_fallback(name or getattr(value, "__name__", ""))) + "\n"


def _describe_value(value):
    if isinstance(value, type) or hasattr(value, "dtype") and callable(value):
        return f"The NumPy type `np.{value.__name__}`."
    if isinstance(value, (dict, frozenset, set, tuple, list)):
        return f"A `{type(value).__name__}` of {len(value)} items."
    doc = type(value).__doc__ or ""
    return f"An instance of `{type(value).__name__}`. " + inline(doc.strip().split("\n")[0])


def _own_members(cls):
    """(name, value) of what ``cls`` defines, and what it inherits from private base classes
    (``_Recurrent``, ``_Cell``): the public API of the class as its user sees it."""
    members = {}
    for klass in reversed(cls.__mro__[:-1]):
        if klass is cls or klass.__name__.startswith("_"):
            members.update(vars(klass))
    return [(k, v) for k, v in members.items() if not k.startswith("_")]


def _members(cls):
    """The public methods and properties of a class, one line each; attributes in one line."""
    rows, attributes = [], []
    seen = {}
    for name, value in _own_members(cls):
        if type(value).__name__ == "member_descriptor":
            attributes.append(f"`{name}`")
            continue
        first = _first_line(value) or _fallback(f"{cls.__name__}.{name}")
        aliasable = callable(value) or isinstance(value, (property, staticmethod, classmethod))
        if aliasable and id(value) in seen:  # clamp = clip; not two fields that are both None
            rows.append(f"- `{name}`: the same as `{seen[id(value)]}`.")
            continue
        seen[id(value)] = name
        if isinstance(value, property):
            rows.append(f"- `{name}` (property){': ' + first if first else ''}")
        elif isinstance(value, (staticmethod, classmethod)) or inspect.isfunction(value):
            # a classmethod through the class is bound: its signature drops cls
            func = getattr(cls, name) if isinstance(value, classmethod) else value
            func = func.__func__ if isinstance(func, staticmethod) else func
            sig = signature(name, func).replace("(self, ", "(").replace("(self)", "()")
            rows.append(f"- `{sig}`{': ' + first if first else ''}")
        elif not callable(value):
            rows.append(f"- `{name}` = `{value!r}`")
    if attributes:
        rows.append("- attributes: " + ", ".join(sorted(attributes)))
    if not rows:
        return ""
    return "\nMembers:\n\n" + "\n".join(rows) + "\n"


def _first_line(value):
    func = getattr(value, "__func__", None) or getattr(value, "fget", None) or value
    doc = inspect.getdoc(func) if callable(func) or isinstance(value, property) else None
    if isinstance(value, type(Exception.args)):  # slot descriptors document nothing useful
        return ""
    if not doc:
        return ""
    return inline(doc.split("\n\n")[0].replace("\n", " "))


# --- special sections -----------------------------------------------------------------------------


def tensor_extras():
    return (
        "Operators: `+ - * / @ **` (tensors, arrays or numbers on either side, NumPy "
        "broadcasting; Python and NumPy scalars do not widen a tensor of their kind, so "
        "float32 * np.float64(2) is float32 and int * 2.5 is float32, as in PyTorch), unary `-`, "
        "`x[index]` (basic and integer-array indexing), `len(x)`, iteration over the first axis; "
        "`< <= > >=` give boolean tensors without gradient (masks for `where`); `==` is identity, "
        "as for any Python object.\n"
    )


def ops_table(ops):
    rows = ["| primitive | inputs taking a gradient |", "|:--|:--|"]
    for name in sorted(ops.BUILTIN):
        prim = ops.REGISTRY[name]
        if prim.vjp_argnum is not None:
            grads = "all (variadic)"
        else:
            grads = ", ".join(str(i) for i, v in enumerate(prim.vjps) if v is not None) or "none"
        rows.append(f"| `{name}` | {grads} |")
    return (
        "The built-in primitives (`ops.BUILTIN`, each also `ops.REGISTRY[name]`; a module-level "
        "name such as `ops.tanh` refers to the same `Primitive`):\n\n" + "\n".join(rows) + "\n"
    )


def cli_commands(cli):
    os.environ["COLUMNS"] = "100"  # argparse wraps help to the terminal: make the page stable
    parser = cli.build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helps = {a.dest: a.help for a in subparsers._choices_actions}
    text = ["The commands (`python -m tinygrad_seq <command> --help` prints the same):\n"]
    for name, sub in subparsers.choices.items():
        text.append(f"### `{name}`\n\n{helps.get(name, '')}\n")
        usage = sub.format_help().replace("tinygrad_seq", "tinygrad_seq", 1)
        text.append("```text\n" + usage.rstrip() + "\n```\n")
    return "\n".join(text)


# --- the page -------------------------------------------------------------------------------------


def section(module_name, intro):
    module = importlib.import_module(module_name)
    parts = [f"## `{module_name}`\n", intro + "\n"]
    if module_name != "tinygrad_seq" and module.__doc__:
        parts.append(markdown(inspect.getdoc(module)))
    if module_name == "tinygrad_seq":
        parts.append(_top_level(module))
        return "\n".join(parts)
    if module_name == "tinygrad_seq.cli":
        parts.append(cli_commands(module))
        parts.append(
            "Functions of the module (each command is an `add_<name>_parser` and a `run_<name>`):\n"
        )
    documented = {}
    for name in public_names(module):
        value = getattr(module, name)
        home = home_of(value, module_name)
        if home != module_name and not inspect.ismodule(value):
            parts.append(f"### `{name}`\n\nSee `{home}.{getattr(value, '__name__', name)}`.\n")
            continue
        if id(value) in documented and not isinstance(value, (int, float, str)):
            parts.append(f"### `{name}`\n\nThe same as `{documented[id(value)]}`.\n")
            continue
        documented[id(value)] = name
        parts.append(entry(name, value))
        if name == "Tensor":
            parts.append(tensor_extras())
    if module_name == "tinygrad_seq.ops":
        for name in ("REGISTRY", "BUILTIN"):
            parts.append(entry(name, getattr(module, name)))
        parts.append(ops_table(module))
    return "\n".join(parts)


def _top_level(package):
    rows = ["| name | what | documented in |", "|:--|:--|:--|"]
    for name in package.__all__:
        value = getattr(package, name)
        home = home_of(value, "tinygrad_seq")
        what = _first_line(value) if callable(value) and not inspect.ismodule(value) else ""
        if inspect.ismodule(value):
            what, home = "a module", value.__name__
        elif isinstance(value, type) and issubclass(value, np.generic):
            what, home = f"`np.{value.__name__}`", "NumPy"
        link = f"[`{home}`](#{_anchor(home)})" if home != "NumPy" else "NumPy"
        rows.append(f"| `{name}` | {what.split('. ')[0].rstrip('.')} | {link} |")
    return "\n".join(rows) + "\n"


def _anchor(module_name):
    return module_name.replace(".", "")


def page():
    import tinygrad_seq

    toc = "\n".join(f"- [`{m}`](#{_anchor(m)}): {intro}" for m, intro in SECTIONS)
    head = (
        "# API reference\n\n"
        f"tinygrad_seq {tinygrad_seq.__version__}. Generated from the docstrings by "
        "[`docs/gen_api.py`](gen_api.py): do not edit by hand, run `python docs/gen_api.py`. "
        "Names follow PyTorch where PyTorch has the concept (NumPy's where NumPy does). The "
        "examples are doctests, run by the test suite.\n\n" + toc + "\n"
    )
    body = [section(m, intro) for m, intro in SECTIONS]
    text = head + "\n" + "\n".join(body)
    return re.sub(r"\n{3,}", "\n\n", text).rstrip() + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description="Write docs/api.md from the docstrings.")
    parser.add_argument("--check", action="store_true", help="only check that api.md is current")
    args = parser.parse_args(argv)
    text = page()
    if args.check:
        current = OUTPUT.read_text(encoding="utf-8") if OUTPUT.exists() else ""
        if current != text:
            print(f"{OUTPUT} is out of date: run python docs/gen_api.py", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT} ({len(text.splitlines())} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
