"""Every measured number that the prose quotes, measured here and written to quoted_numbers.json.

README.md, docs/*.md, the examples' docstrings and a few docstrings of the package quote results
(an accuracy, a table of test errors, how long the demo takes). This script runs the commands
that produce them, as a user would type them, and writes each value with its command to
``docs/quoted_numbers.json``; ``QUOTES`` says where each value appears, and
tests/test_quoted_numbers.py checks that every quote equals the last output (it reads the JSON
and reruns nothing). After changing what a command computes, rerun the script and copy the new
values into the prose until that test passes.

    python docs/quoted_numbers.py              # everything: about 10 minutes of CPU time
    python docs/quoted_numbers.py --quick      # all but the adding problem and the speed
                                               # benchmark (minutes), whose values stay as
                                               # the last full run left them
    python docs/quoted_numbers.py --only digits_lstm
    python docs/quoted_numbers.py --only speed --repeats 3   # a quick, noisy run of the
                                               # benchmark (default: its own 15 repeats)

Times are CPU seconds of the command's process (user + system, children included). Every entry
point runs BLAS on one thread, so on a quiet machine that is its wall time too, and on a busy one
it does not count the waiting. Two need a quiet machine, so run each alone: the speed benchmark's
ratios are of wall times (``--only speed``), and so is the demo's time (``--only demo``): the
wall clock of ``python -m tinygrad_seq demo`` from start to exit, imports and pictures included,
which is what a newcomer waits for (its CPU time was quoted once and fell ~10 s short).
"""

import argparse
import datetime
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "docs", "quoted_numbers.json")


def run(command):
    """(stdout, CPU seconds, wall seconds) of ``command`` (a list; "python" is this interpreter),
    run from the repository's root with the package importable from it."""
    import resource  # Unix only: imported here so that the test reading QUOTES runs anywhere

    argv = [sys.executable if command[0] == "python" else command[0], *command[1:]]
    env = dict(os.environ, PYTHONPATH=ROOT)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return done.stdout, cpu, wall


def found(pattern, text):
    """The first group of ``pattern`` in ``text``; a clear error if the output changed shape."""
    match = re.search(pattern, text)
    if match is None:
        raise ValueError(f"quoted_numbers: {pattern!r} not found in the output:\n{text}")
    return match.group(1)


# --- the experiments: name -> (slow?, command, function(stdout, cpu) -> {value name: value}) -----


def adding_problem(out, cpu):
    table = "\n".join(line for line in out.splitlines() if line.startswith("|"))
    return {"adding_table": table, "adding_seconds": round(cpu)}


def adding_lstm_200(out, cpu):
    return {
        "lstm200_mse": found(r"\| 200 \|[^|]*\|\s*([0-9.]+) \|", out),
        "lstm200_seconds": round(cpu),
    }


def digits(kind):
    def values(out, cpu):
        accuracy = float(found(r"test accuracy: ([0-9.]+)%", out))
        values = {
            f"digits_{kind}_accuracy": f"{accuracy:.1f}",
            f"digits_{kind}_seconds": round(cpu),
        }
        if kind == "lstm":  # the default model's is also quoted rounded, "about 95%"
            values["digits_lstm_percent"] = f"{accuracy:.0f}"
        return values

    return values


def demo(out, wall):
    """The demo's held-out bpc and its wall time (``WALL_CLOCK``), rounded UP to 5 s: a few
    seconds either way with the machine's mood, and a quote should not promise less."""
    before, after = found(r"held-out: ([0-9.]+ -> [0-9.]+) bits", out).split(" -> ")
    return {
        "demo_bpc_before": before,
        "demo_bpc_after": after,
        "demo_seconds": 5 * math.ceil(wall / 5),
    }


WALL_CLOCK = {"demo"}  # experiments whose time is quoted as waited for, not as CPU time


def schedule(name):
    def values(out, cpu):
        return {f"lr_{name}_bpc": found(r"step  1000 .*held-out ([0-9.]+) bpc", out)}

    return values


SPEED_COLUMNS = {  # quoted column -> the column of benchmarks/rnn.py's table its ratio follows
    "vs NumPy by hand": "by hand ms",
    "no_grad vs forward by hand": "forward by hand ms",
    "peak memory vs by hand": "by hand MiB",
    "vs op by op": "op by op ms",
    "vs torch fused": "torch fused ms (own process)",
}


def speed(out, cpu):
    """The benchmark's ratios, one row per model and config, as it prints them: tinygrad_seq's
    training step (no_grad forward, peak memory) divided by each reference's (below 1x: less)."""
    cells_of = lambda line: [cell.strip() for cell in line.strip().strip("|").split("|")]  # noqa: E731
    lines = out.splitlines()
    header = next((cells_of(line) for line in lines if line.startswith("| model |")), [])
    if not set(SPEED_COLUMNS.values()) <= set(header):
        raise ValueError(f"quoted_numbers: no rows with torch columns in the output:\n{out}")
    columns = [header.index(name) + 1 for name in SPEED_COLUMNS.values()]  # the ratio after it
    rows = []
    for line in lines:
        cells = cells_of(line)
        if len(cells) == len(header) and cells[0] in ("lstm", "gru", "rnn"):
            rows.append([cells[0], cells[1], *(cells[k] for k in columns)])
    table = "| model | config (T, B, I, H) | " + " | ".join(SPEED_COLUMNS) + " |"
    rule = "|---|---|" + "---:|" * len(SPEED_COLUMNS)
    return {"speed_table": "\n".join([table, rule, *("| " + " | ".join(r) + " |" for r in rows)])}


# --- attention (docs/attention.md, examples/seq2seq_attention.py, examples/transformer_lm.py) -----


def seq2seq(out, cpu):
    table = "\n".join(line for line in out.splitlines() if line.startswith("|"))
    per_symbol = {
        name: found(rf"\| {re.escape(name)} +\| +([0-9.]+%)", out)
        for name in ("plain GRU", "GRU+attention", "Transformer")
    }
    return {
        "seq2seq_table": table,
        "seq2seq_plain": per_symbol["plain GRU"],
        "seq2seq_diagonal": found(r"within one of input T-1-i at ([0-9.]+%)", out),
        "seq2seq_seconds": round(cpu),
    }


def transformer_lm(out, cpu):
    before, after = found(r"perplexity: ([0-9.]+ -> [0-9.]+) in", out).split(" -> ")
    return {"lm_before": before, "lm_after": after, "lm_seconds": round(cpu)}


def transformer_speed(out, cpu):
    lines = [line for line in out.splitlines() if line.startswith("|")]
    if len(lines) < 3 or "torch fused" not in lines[0]:
        raise ValueError(f"quoted_numbers: no torch columns in the output:\n{out}")
    return {"transformer_speed_table": "\n".join(lines)}


ATTENTION_EXPERIMENTS = {
    "seq2seq": (
        False,
        [
            "python",
            "examples/seq2seq_attention.py",
            "--heatmap",
            "docs/images/attention_weights.png",
        ],
        seq2seq,
    ),
    "transformer_lm": (False, ["python", "examples/transformer_lm.py"], transformer_lm),
    "transformer_speed": (True, ["python", "benchmarks/transformer.py"], transformer_speed),
}
ATTENTION_QUOTES = [
    ("docs/attention.md", "{seq2seq_table}"),
    ("examples/seq2seq_attention.py", "{seq2seq_table}"),
    ("docs/attention.md", "The plain encoder-decoder gets {seq2seq_plain} of the symbols right"),
    ("docs/attention.md", "in about {seq2seq_seconds} s of CPU time"),
    ("docs/attention.md", "within one position of input `T - 1 - i` at {seq2seq_diagonal} of the"),
    ("examples/seq2seq_attention.py", "(about {seq2seq_seconds} s of CPU time)"),
    ("docs/attention.md", "held-out perplexity: {lm_before} -> {lm_after}"),
    ("examples/transformer_lm.py", "perplexity {lm_before} -> {lm_after} (about {lm_seconds} s)"),
    ("docs/attention.md", "{transformer_speed_table}"),
]

CHAR_LM_1000 = ["python", "examples/char_lm.py", "--steps", "1000", "--eval-every", "1000"]
CHAR_LM_1000 += ["--length", "0", "--checkpoint", "{tmp}/char_lm.npz"]

EXPERIMENTS = {
    "adding_problem": (True, ["python", "examples/adding_problem.py"], adding_problem),
    "adding_lstm_200": (
        True,
        ["python", "examples/adding_problem.py", "--lengths", "200", "--models", "lstm"]
        + ["--steps", "2000"],
        adding_lstm_200,
    ),
    **{
        f"digits_{kind}": (
            False,
            ["python", "examples/sequence_classification.py", "--model", kind],
            digits(kind),
        )
        for kind in ("lstm", "gru", "rnn")
    },
    "demo": (False, ["python", "-m", "tinygrad_seq", "demo", "--out", "{tmp}/demo"], demo),
    "lr_cosine": (False, CHAR_LM_1000, schedule("cosine")),
    "lr_constant": (False, CHAR_LM_1000 + ["--schedule", "constant"], schedule("constant")),
    "speed": (True, ["python", "benchmarks/rnn.py"], speed),
    **ATTENTION_EXPERIMENTS,
}


# --- where the values are quoted: (file, text with {value name} fields) ---------------------------

QUOTES = [
    (
        "README.md",
        "python -m tinygrad_seq demo    # train a char-level LSTM (about {demo_seconds} s)",
    ),
    ("tinygrad_seq/cli/__init__.py", "demo          # about {demo_seconds} s: train, sample"),
    ("tinygrad_seq/cli/demo.py", "takes about {demo_seconds} seconds on a quiet 2-core machine"),
    ("tinygrad_seq/cli/demo.py", "train a character-level LSTM (about {demo_seconds} s)"),
    (
        "tinygrad_seq/charlm/config.py",
        "library's source from {demo_bpc_before} to {demo_bpc_after} bits per character in about "
        "{demo_seconds} seconds",
    ),
    (
        "tinygrad_seq/charlm/config.py",
        "Measured on the demo: {lr_cosine_bpc} bpc after 1000 steps, {lr_constant_bpc} with a "
        "constant rate",
    ),
    ("examples/char_lm.py", "# ~{demo_seconds} s on 2 cores, {demo_bpc_after} bpc"),
    ("examples/adding_problem.py", "{adding_table}"),
    ("examples/adding_problem.py", "(about {adding_seconds} s\nof CPU time)"),
    ("docs/gru.md", "{adding_table}"),
    ("docs/gru.md", "(the defaults; seed 0) in {adding_seconds} s"),
    ("docs/gru.md", "reaches a test MSE\nof {lstm200_mse} ({lstm200_seconds} s)"),
    (
        "docs/gru.md",
        "--model lstm   # test accuracy: {digits_lstm_accuracy}% ({digits_lstm_seconds} s)",
    ),
    (
        "docs/gru.md",
        "--model gru    # test accuracy: {digits_gru_accuracy}% ({digits_gru_seconds} s)",
    ),
    (
        "docs/gru.md",
        "--model rnn    # test accuracy: {digits_rnn_accuracy}% ({digits_rnn_seconds} s)",
    ),
    ("README.md", "{speed_table}"),
    ("docs/compiled_loop.md", "{speed_table}"),
    ("docs/index.md", "LSTM or GRU (about {digits_lstm_percent}% test accuracy)"),
    (
        "examples/sequence_classification.py",
        "# LSTM: {digits_lstm_percent}% test accuracy, ~{digits_lstm_seconds} s",
    ),
    *ATTENTION_QUOTES,
]


def quoted_texts(values):
    """[(file, the text it must contain)] for the measured ``values`` ({name: value})."""
    texts = []
    for path, template in QUOTES:
        text = template.format_map(values)
        if path.endswith(".py") and text.startswith("|"):  # a table in a docstring is indented
            text = "\n".join("    " + line for line in text.splitlines())
        texts.append((path, text))
    return texts


def load_results(path=RESULTS):
    """{"values": {name: value}, "commands": {experiment: {...}}} from the last runs (or empty)."""
    if not os.path.exists(path):
        return {"values": {}, "experiments": {}}
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def measure(name, results, tmp, repeats=None):
    slow, command, parse = EXPERIMENTS[name]
    command = [part.replace("{tmp}", tmp) for part in command]
    if repeats is not None and name == "speed":  # the benchmark's own default otherwise
        command += ["--repeats", str(repeats)]
    print(f"{name}: {' '.join(command)}", flush=True)
    out, cpu, wall = run(command)
    values = parse(out, wall if name in WALL_CLOCK else cpu)
    shown = " ".join(part.replace(tmp, "/tmp/x") for part in command)
    results["experiments"][name] = {
        "command": shown,
        "cpu_seconds": round(cpu, 1),
        "wall_seconds": round(wall, 1),
        "measured": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "values": sorted(values),
    }
    results["values"].update(values)
    for key, value in values.items():
        print(f"  {key} = {value}", flush=True)


def save(results, path=RESULTS):
    """Write the JSON next to ``path`` first, then rename it over (a crash leaves the old)."""
    # results of other runs may have landed meanwhile (the slow ones run in the background)
    merged = load_results(path)
    merged["values"].update(results["values"])
    merged["experiments"].update(results["experiments"])
    folder = os.path.dirname(path)
    with tempfile.NamedTemporaryFile("w", dir=folder, delete=False, encoding="utf-8") as f:
        json.dump(merged, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(f.name, path)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--quick",
        action="store_true",
        help="skip the slow ones: the adding problem, the speed benchmark",
    )
    p.add_argument("--only", nargs="+", choices=sorted(EXPERIMENTS), help="(default: all)")
    p.add_argument(
        "--repeats", type=int, help="timed calls per column of the speed benchmark (default 15)"
    )
    args = p.parse_args(argv)
    names = args.only or [n for n, (slow, *_) in EXPERIMENTS.items() if not (args.quick and slow)]
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            results = {"values": {}, "experiments": {}}
            measure(name, results, tmp, args.repeats)
            save(results)  # after each one: an interrupted run keeps what it measured
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
