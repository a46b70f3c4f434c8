"""The command line: `python -m tinygrad_seq graph ...`."""

import importlib.util
import os
import pathlib
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from tinygrad_seq import cli

ROOT = pathlib.Path(__file__).resolve().parent.parent  # subprocesses import the package from here
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="needs Graphviz's `dot`")


@needs_dot
def test_graph_writes_a_valid_svg(tmp_path, capsys):
    path = tmp_path / "lstm.svg"
    code = cli.main(["graph", "--model", "lstm", "--steps", "3", "-o", str(path)])
    assert code == 0 and f"wrote {path}" in capsys.readouterr().out
    text = "".join(ET.parse(path).getroot().itertext())
    for expected in ("t = 2", "forget gate", "lstm.weight_ih_l0", "loss"):
        assert expected in text


@needs_dot
@pytest.mark.parametrize("fmt, magic", [("png", b"\x89PNG"), ("pdf", b"%PDF")])
def test_graph_format_from_the_extension(tmp_path, fmt, magic):
    path = tmp_path / f"g.{fmt}"
    assert cli.main(["graph", "--model", "rnn", "--steps", "2", "-o", str(path)]) == 0
    assert path.read_bytes()[:4] == magic


def test_graph_gv_needs_no_graphviz_and_collapses_cells(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    path = tmp_path / "gru.gv"
    argv = ["graph", "--model", "gru", "--steps", "3", "--layers", "2", "--bidirectional"]
    assert cli.main(argv + ["--collapse", "cell", "--show-grad", "-o", str(path)]) == 0
    source = path.read_text(encoding="utf-8")
    assert source.startswith("digraph") and source.count("<B>GRU cell</B>") == 3 * 2 * 2
    assert "∂L/∂h" in source  # --show-grad ran backward with keep_grads first


def test_graph_truncation_note_names_the_command_line_flags(tmp_path):
    path = tmp_path / "lstm.gv"
    assert cli.main(["graph", "--model", "lstm", "--steps", "20", "-o", str(path)]) == 0
    source = path.read_text(encoding="utf-8")
    assert "earlier boxes not drawn" in source and "earliest boxes" in source
    assert source.count("--max-nodes 0 to draw all") == 2 and "--collapse cell" in source
    assert "max_nodes=" not in source and "collapse='cell'" not in source


def test_graph_without_dot_explains_and_saves_the_dot_text(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))
    code = cli.main(["graph", "--steps", "2", "-o", str(tmp_path / "lstm.svg")])
    assert code == 1
    err = capsys.readouterr().err
    assert "Install Graphviz" in err and "lstm.gv" in err
    assert (tmp_path / "lstm.gv").read_text(encoding="utf-8").startswith("digraph")


def test_graph_default_output_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["graph", "--model", "rnn", "--steps", "1", "--format", "gv"]) == 0
    assert (tmp_path / "rnn.gv").exists()


def test_bad_arguments_exit_with_usage(capsys):
    assert cli.main(["graph", "--steps", "0"]) == 2
    assert "must be an integer from 1 to 1000, got 0" in capsys.readouterr().err
    assert cli.main(["graph", "--model", "transformer"]) == 2


def test_no_command_prints_help(capsys):
    assert cli.main([]) == 2
    assert "graph" in capsys.readouterr().out


def test_python_dash_m_help():
    out = subprocess.run(
        [sys.executable, "-m", "tinygrad_seq", "graph", "--help"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
    for option in ("--model", "--steps", "--collapse", "--show-grad", "--format", "--output"):
        assert option in out


# --- demo, train, sample, flow --------------------------------------------------------------------

TINY = ["--chars", "20000", "--steps", "3", "--hidden", "16", "--emb", "8", "--batch", "4"]
TINY += ["--seq-len", "8", "--eval-every", "2", "--eval-chars", "200", "--length", "20"]


def run(argv, capsys):
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_demo_trains_samples_and_writes_every_file(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    code, out, _ = run(["demo", *TINY, "--out", str(tmp_path)], capsys)
    assert code == 0
    for expected in ("sample before training", "sample after training", "bits per char"):
        assert expected in out
    assert "(temperature 0.7)" in out and out.count("\n    def __init__(self") == 2
    assert "Summary" in out and "docs/autodiff.md" in out and "docs/lstm.md" in out
    assert "examples/" in out and f"--checkpoint {tmp_path / 'charlm.npz'}" in out
    assert (tmp_path / "gradient_flow.png").read_bytes()[:4] == b"\x89PNG"
    assert tg_load_step(tmp_path / "charlm.npz") == 3
    if shutil.which("dot"):
        text = "".join(ET.parse(tmp_path / "lstm_graph.svg").getroot().itertext())
        assert "forget gate" in text and "t = 2" in text
    page = (tmp_path / "lstm_explorer.html").read_text(encoding="utf-8")
    assert "<html" in page and "explore-data" in page and "backward #" not in out
    listed = [line for line in out.splitlines() if "lstm_explorer.html" in line]
    assert f"wrote {tmp_path / 'lstm_explorer.html'}" in listed
    assert any("step through backprop (open in a browser)" in line for line in listed)


def tg_load_step(path):
    from tinygrad_seq import charlm

    return charlm.load_checkpoint(path).step


def test_demo_same_seed_same_numbers(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot: faster, and the output is the same
    outputs = []
    for seed, folder in (("5", "a"), ("5", "b"), ("6", "c")):
        code, out, _ = run(["demo", *TINY, "--seed", seed, "--out", str(tmp_path / folder)], capsys)
        assert code == 0
        out = out.replace(str(tmp_path / folder), "OUT")
        outputs.append([line for line in out.splitlines() if not line.startswith("Summary")])
    assert outputs[0] == outputs[1]
    assert outputs[0] != outputs[2]


def test_demo_without_dot_saves_the_dot_text_and_says_how_to_install(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    code, out, _ = run(["demo", *TINY, "--out", str(tmp_path)], capsys)
    assert code == 0
    assert (tmp_path / "lstm_graph.gv").read_text(encoding="utf-8").startswith("digraph")
    assert not (tmp_path / "lstm_graph.svg").exists()
    hints = [line for line in out.splitlines() if "install Graphviz" in line]
    assert len(hints) == 1
    assert all(tool in hints[0] for tool in ("apt", "brew", "conda", "winget", "lstm_graph.gv"))


def test_demo_without_matplotlib_and_tqdm(tmp_path, capsys, monkeypatch):
    for name in ("matplotlib", "matplotlib.figure", "tqdm", "threadpoolctl"):
        monkeypatch.setitem(sys.modules, name, None)  # import now raises ImportError
    monkeypatch.setenv("PATH", str(tmp_path))
    code, out, _ = run(["demo", *TINY, "--out", str(tmp_path)], capsys)
    assert code == 0
    assert 'pip install "tinygrad_seq[demo]"' in out and "step 3/3" in out
    assert not (tmp_path / "gradient_flow.png").exists() and (tmp_path / "charlm.npz").exists()


def test_without_the_graphviz_package_drawing_says_how_to_get_it(tmp_path, capsys, monkeypatch):
    # graphviz is an optional dependency (the viz, demo and test extras)
    monkeypatch.setitem(sys.modules, "graphviz", None)  # import now raises ImportError
    for command in ("graph", "explore"):
        code, out, err = run([command, "--steps", "1", "-o", str(tmp_path / "x.html")], capsys)
        assert code == 1 and out == "" and list(tmp_path.iterdir()) == []
        one_line_error(err, command, 'pip install "tinygrad_seq[viz]"')
    code, out, _ = run(["demo", *TINY, "--out", str(tmp_path)], capsys)
    assert code == 0 and "graphviz Python package is not installed" in out
    assert (tmp_path / "charlm.npz").exists() and not list(tmp_path.glob("lstm_*"))


def test_ctrl_c_while_training_saves_a_checkpoint(tmp_path, capsys, monkeypatch):
    from tinygrad_seq import charlm

    real_step, calls = charlm.train_step, []

    def interrupted_on_the_second_step(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_step(*args, **kwargs)

    monkeypatch.setattr(charlm.training, "train_step", interrupted_on_the_second_step)
    code, _, err = run(["demo", *TINY, "--out", str(tmp_path)], capsys)
    path = tmp_path / "charlm.npz"
    assert code == 130 and f"interrupted at step 1: saved the model to {path}" in err
    assert tg_load_step(path) == 1


def test_train_then_sample(tmp_path, capsys):
    text = tmp_path / "hello.txt"
    text.write_text("hello world\n" * 200, encoding="utf-8")
    ckpt = tmp_path / "hello.npz"
    argv = ["train", "--text", str(text), "--steps", "40", "--hidden", "16", "--emb", "8"]
    argv += ["--batch", "4", "--seq-len", "8", "--lr", "0.05", "--out", str(ckpt)]
    code, out, _ = run(argv, capsys)
    assert code == 0 and f"saved {ckpt}" in out and "9 distinct" in out
    argv = ["sample", "--checkpoint", str(ckpt), "--prompt", "hello", "--length", "19"]
    code, out, _ = run([*argv, "--temperature", "0"], capsys)
    assert code == 0 and out == "hello world\n" * 2 + "\n"
    code, out, _ = run(argv, capsys)  # the default seed: the same text every time
    assert code == 0 and run(argv, capsys)[1] == out


def test_input_errors_are_one_line(tmp_path, capsys):
    code, _, err = run(["sample", "--checkpoint", str(tmp_path / "missing.npz")], capsys)
    assert code == 1 and err.startswith("error:") and "missing.npz" in err
    text = tmp_path / "short.txt"
    text.write_text("abc" * 10, encoding="utf-8")
    code, _, err = run(["train", "--text", str(text), "--out", str(tmp_path / "x.npz")], capsys)
    assert code == 1 and "too few for one batch" in err and "--batch 32" in err
    code, _, err = run(["demo", *TINY, "--prompt", "\u00e9", "--out", str(tmp_path)], capsys)
    assert code == 1 and "--prompt" in err and "not in the vocabulary" in err


def test_flow_writes_the_plot(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    path = tmp_path / "flow.png"
    code, out, _ = run(["flow", "--steps", "20", "-o", str(path)], capsys)
    assert code == 0 and "tanh RNN" in out and path.read_bytes()[:4] == b"\x89PNG"


def test_flow_without_matplotlib(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    code, out, _ = run(["flow", "--steps", "5", "-o", str(tmp_path / "f.png")], capsys)
    assert code == 1 and 'pip install "tinygrad_seq[demo]"' in out


@pytest.mark.parametrize(
    "command, options",
    [
        ("demo", ["--out", "--text", "--steps", "--seed", "--hidden", "--temperature"]),
        ("train", ["--text", "--model", "--layers", "--hidden", "--emb", "--seq-len", "--batch"]),
        ("train", ["--steps", "--lr", "--clip", "--seed", "--out"]),
        ("sample", ["--checkpoint", "--prompt", "--length", "--temperature", "--seed"]),
        ("graph", ["--model", "--steps", "--collapse"]),
        ("flow", ["--steps", "--forget-biases", "--output"]),
    ],
)
def test_every_command_has_help(command, options, capsys):
    assert cli.main([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert all(option in out for option in options)


def test_the_console_script():
    script = shutil.which("tinygrad-seq")
    if script is None:
        pytest.skip("the package is not pip-installed (pip install -e .)")
    out = subprocess.run([script, "--help"], capture_output=True, text=True, check=True).stdout
    assert all(command in out for command in ("demo", "train", "sample", "graph", "flow"))


# --- output files: checked before any work, written atomically, never lost ------------------------

HELLO = "hello world\n" * 200
TRAIN = ["--steps", "4", "--hidden", "16", "--emb", "8", "--batch", "4", "--seq-len", "8"]


def hello_text(tmp_path):
    path = tmp_path / "hello.txt"
    path.write_text(HELLO, encoding="utf-8")
    return str(path)


def no_training(monkeypatch):
    from tinygrad_seq import charlm

    def fail(*args, **kwargs):
        raise AssertionError("training started although the output path is unusable")

    monkeypatch.setattr(charlm.training, "train", fail)


def one_line_error(err, *names):
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), err
    assert all(str(name) in lines[0] for name in names), err


@pytest.mark.parametrize("where", ["missing folder", "a folder"])
def test_train_checks_out_before_training(where, tmp_path, capsys, monkeypatch):
    no_training(monkeypatch)
    out = tmp_path / "no" / "such" / "m.npz" if where == "missing folder" else tmp_path
    code, _, err = run(["train", "--text", hello_text(tmp_path), *TRAIN, "--out", str(out)], capsys)
    assert code == 1
    one_line_error(err, out)


def test_demo_checks_its_outputs_before_training(tmp_path, capsys, monkeypatch):
    no_training(monkeypatch)
    a_file = tmp_path / "file"
    a_file.write_text("not a folder")
    code, _, err = run(["demo", *TINY, "--out", str(a_file)], capsys)
    assert code == 1
    one_line_error(err, a_file)
    (tmp_path / "d" / "charlm.npz").mkdir(parents=True)  # the checkpoint's name is taken
    code, _, err = run(["demo", *TINY, "--out", str(tmp_path / "d")], capsys)
    assert code == 1
    one_line_error(err, tmp_path / "d" / "charlm.npz")


@pytest.mark.parametrize(
    "argv",
    [
        ["graph", "--format", "gv", "-o", "{tmp}/nodir/g.gv"],
        ["graph", "--format", "gv", "-o", "{tmp}"],
        ["flow", "--steps", "5", "-o", "{tmp}/nodir/f.png"],
        ["flow", "--steps", "5", "-o", "{tmp}"],
    ],
)
def test_graph_and_flow_outputs_that_cannot_be_written(argv, tmp_path, capsys):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    code, out, err = run(argv, capsys)
    assert code == 1 and "wrote" not in out
    one_line_error(err, argv[-1])


def test_an_interrupted_plot_keeps_the_old_file(tmp_path, capsys, monkeypatch):
    figure = pytest.importorskip("matplotlib.figure")

    def half_then_ctrl_c(self, fname, **kwargs):
        if isinstance(fname, (str, os.PathLike)):
            with open(fname, "wb") as f:
                f.write(b"\x89PNG half")
        else:
            fname.write(b"\x89PNG half")
        raise KeyboardInterrupt

    monkeypatch.setattr(figure.Figure, "savefig", half_then_ctrl_c)
    path = tmp_path / "f.png"
    path.write_bytes(b"old plot")
    code, _, _ = run(["flow", "--steps", "5", "-o", str(path)], capsys)
    assert code == 130 and path.read_bytes() == b"old plot"
    assert os.listdir(tmp_path) == ["f.png"]


def train_argv(tmp_path, ckpt, *extra):
    return ["train", "--text", hello_text(tmp_path), *TRAIN, "--out", str(ckpt), *extra]


def interrupt_at_step(monkeypatch, n):
    from tinygrad_seq import charlm

    real_step, calls = charlm.train_step, []

    def step(*args, **kwargs):
        calls.append(1)
        if len(calls) == n:
            raise KeyboardInterrupt
        return real_step(*args, **kwargs)

    monkeypatch.setattr(charlm.training, "train_step", step)


def test_ctrl_c_in_the_first_step_keeps_a_trained_checkpoint(tmp_path, capsys, monkeypatch):
    ckpt = tmp_path / "m.npz"
    assert run(train_argv(tmp_path, ckpt), capsys)[0] == 0
    trained = ckpt.read_bytes()
    interrupt_at_step(monkeypatch, 1)
    code, _, err = run(train_argv(tmp_path, ckpt), capsys)
    assert code == 130 and "nothing saved" in err and str(ckpt) in err
    assert ckpt.read_bytes() == trained
    interrupt_at_step(monkeypatch, 1)  # even when asked to overwrite: a step-0 model is not saved
    code, _, err = run(train_argv(tmp_path, ckpt, "--overwrite"), capsys)
    assert code == 130 and ckpt.read_bytes() == trained
    interrupt_at_step(monkeypatch, 3)  # 2 steps done, not the 4 of the checkpoint: kept
    code, _, err = run(train_argv(tmp_path, ckpt, "--save-every", "1"), capsys)
    assert code == 130 and "keeps its checkpoint of 4 steps" in err
    assert ckpt.read_bytes() == trained


def test_a_checkpoint_is_not_replaced_by_a_shorter_run_unless_asked(tmp_path, capsys, monkeypatch):
    ckpt = tmp_path / "m.npz"
    assert run(train_argv(tmp_path, ckpt), capsys)[0] == 0
    trained = ckpt.read_bytes()
    short = train_argv(tmp_path, ckpt)
    short[short.index("--steps") + 1] = "2"
    with monkeypatch.context() as m:
        no_training(m)
        code, _, err = run(short, capsys)
    assert code == 1 and ckpt.read_bytes() == trained
    one_line_error(err, ckpt, "4 steps", "--overwrite")
    assert run([*short, "--overwrite"], capsys)[0] == 0
    assert tg_load_step(ckpt) == 2
    (tmp_path / "notes.txt").write_text("precious")
    with monkeypatch.context() as m:
        no_training(m)
        code, _, err = run(train_argv(tmp_path, tmp_path / "notes.txt"), capsys)
    assert code == 1 and (tmp_path / "notes.txt").read_text() == "precious"
    one_line_error(err, tmp_path / "notes.txt", "not a checkpoint", "--overwrite")


def test_a_run_that_dies_keeps_its_periodic_checkpoint(tmp_path, capsys, monkeypatch):
    from tinygrad_seq import charlm

    real_step, calls = charlm.train_step, []

    def dies_in_step_4(*args, **kwargs):
        calls.append(1)
        if len(calls) == 4:
            raise MemoryError("the machine ran out")
        return real_step(*args, **kwargs)

    monkeypatch.setattr(charlm.training, "train_step", dies_in_step_4)
    ckpt = tmp_path / "m.npz"
    assert cli.main(train_argv(tmp_path, ckpt, "--save-every", "2")) == 1
    one_line_error(capsys.readouterr().err, "out of memory")
    assert tg_load_step(ckpt) == 2
    assert sorted(os.listdir(tmp_path)) == ["hello.txt", "m.npz"]


def sample_argv(ckpt, *extra):
    return ["sample", "--checkpoint", str(ckpt), "--prompt", "hel", "--length", "12", *extra]


def test_sample_refuses_nan_weights_at_load_and_a_tiny_temperature_is_greedy(tmp_path, capsys):
    import tinygrad_seq as tg

    ckpt = tmp_path / "m.npz"
    assert run(train_argv(tmp_path, ckpt), capsys)[0] == 0
    greedy = run(sample_argv(ckpt, "--temperature", "0"), capsys)
    assert greedy[0] == 0
    assert run(sample_argv(ckpt, "--temperature", "1e-300"), capsys) == greedy
    state = tg.load(ckpt)
    state["model"]["rnn.weight_hh_l0"][0, 0] = np.nan
    tg.save(state, ckpt)
    code, out, err = run(sample_argv(ckpt), capsys)
    assert code == 1 and out == ""  # refused at load: no NumPy warning from a matmul before
    one_line_error(err, "NaN or inf", "model.rnn.weight_hh_l0", ckpt)


def test_sample_a_bad_checkpoint_prints_one_line_in_a_subprocess(tmp_path):
    import tinygrad_seq as tg

    ckpt = tmp_path / "m.npz"
    assert cli.main(train_argv(tmp_path, ckpt)) == 0
    state = tg.load(ckpt)
    state["model_config"]["hidden_size"] = 10**6
    tg.save(state, ckpt)
    done = subprocess.run(
        [sys.executable, "-m", "tinygrad_seq", *sample_argv(ckpt)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert done.returncode == 1 and done.stdout == ""
    one_line_error(done.stderr, ckpt, "model_config.hidden_size")


def test_an_interrupted_graph_write_keeps_the_old_file(tmp_path):
    from tinygrad_seq import viz

    class Interrupted:  # a graph whose DOT text is cut short by Ctrl-C
        @property
        def source(self):
            raise KeyboardInterrupt

    path = tmp_path / "g.gv"
    path.write_text("old drawing")
    with pytest.raises(KeyboardInterrupt):
        viz.render(Interrupted(), path)
    assert path.read_text() == "old drawing" and os.listdir(tmp_path) == ["g.gv"]


# --- train: held-out loss at every evaluation, the best checkpoint, early stopping ----------------

OVERFIT = ["--steps", "100", "--eval-every", "10", "--hidden", "64", "--emb", "8", "--batch", "4"]
OVERFIT += ["--seq-len", "16", "--lr", "0.03"]


def random_text(tmp_path):
    """800 random characters from "abcd": nothing to learn but the training text by heart."""
    path = tmp_path / "random.txt"
    rng = np.random.default_rng(0)
    path.write_text("".join(rng.choice(list("abcd"), 800)), encoding="utf-8")
    return str(path)


def evaluation_lines(out):
    """{step: held-out bpc} from the lines `train` prints at each evaluation."""
    lines = [line.split() for line in out.splitlines() if line.startswith("step ")]
    return {int(words[1].rstrip(":")): float(words[3]) for words in lines}


def test_train_reports_overfitting_and_keeps_the_best_checkpoint(tmp_path, capsys):
    from tinygrad_seq import charlm

    ckpt = tmp_path / "m.npz"
    argv = ["train", "--text", random_text(tmp_path), *OVERFIT, "--out", str(ckpt)]
    code, out, _ = run(argv, capsys)
    assert code == 0
    held_out = evaluation_lines(out)
    assert list(held_out) == list(range(10, 101, 10))
    best_step = min(held_out, key=held_out.get)
    assert (
        f"best held-out: {held_out[best_step]:.3f} bits per character, at step {best_step}" in out
    )
    assert held_out[100] > held_out[best_step]
    warnings = [line for line in out.splitlines() if line.startswith("overfitting:")]
    assert warnings and all(
        "held-out got worse" in w and "the training text improved" in w for w in warnings
    )
    best = charlm.load_checkpoint(tmp_path / "m_best.npz")
    assert best.step == best_step and best.optimizer is None
    assert charlm.load_checkpoint(ckpt).step == 100
    _, _, val_ids = charlm.prepare((tmp_path / "random.txt").read_text(), vocab=best.vocab)
    score = charlm.evaluate(best.model, val_ids, batch_size=4, seq_len=16)
    assert f"{score['bpc']:.3f}" == f"{held_out[best_step]:.3f}"
    assert sorted(os.listdir(tmp_path)) == ["m.npz", "m_best.npz", "random.txt"]  # no temp file


def test_the_overfitting_line_compares_with_the_previous_evaluation():
    def scores(step, bpc, train_bpc, best):
        ln2 = np.log(2)
        return {
            "step": step,
            "bpc": bpc,
            "loss": bpc * ln2,
            "train_text_bpc": train_bpc,
            "train_text_loss": train_bpc * ln2,
            "best": best,
        }

    seen = []
    assert "(best so far)" in cli.charlm._evaluation_line(scores(10, 2.0, 2.5, True), seen)
    line = cli.charlm._evaluation_line(scores(20, 2.1, 1.9, False), seen)
    assert line.startswith(
        "step 20: held-out 2.100 bpc (best 2.000 at step 10), training text 1.900 bpc"
    )
    assert "\noverfitting: held-out got worse (2.000 -> 2.100 bpc) while the training text " in line
    assert (
        "(2.500 -> 1.900 bpc, better than held-out); the best weights so far are those of " in line
    )
    assert "overfitting" not in cli.charlm._evaluation_line(scores(30, 2.2, 2.6, False), seen)
    assert "overfitting" not in cli.charlm._evaluation_line(scores(40, 1.5, 2.3, True), seen)
    # held-out noise on a text whose held-out part is easier than its training part: no alarm
    assert "overfitting" not in cli.charlm._evaluation_line(scores(50, 1.6, 2.2, False), seen)


def test_patience_stops_training_early(tmp_path, capsys):
    ckpt = tmp_path / "m.npz"
    argv = ["train", "--text", random_text(tmp_path), *OVERFIT, "--out", str(ckpt)]
    out = run(argv, capsys)[1]
    steps = list(evaluation_lines(out))
    lines = out.splitlines()
    best = [any(x.startswith(f"step {s}: ") and "(best so far)" in x for x in lines) for s in steps]
    # with --patience 2, training stops at the first evaluation that follows two without a new best
    stop = next(steps[i] for i in range(2, len(steps)) if not (best[i - 1] or best[i]))
    code, out, _ = run([*argv, "--patience", "2", "--overwrite"], capsys)
    assert code == 0 and list(evaluation_lines(out))[-1] == stop
    assert (
        f"stopped early at step {stop}: the held-out loss has not improved for --patience 2" in out
    )
    assert tg_load_step(ckpt) == stop


def test_early_stopping_short_of_an_existing_checkpoint_saves_nothing(tmp_path, capsys):
    ckpt = tmp_path / "m.npz"
    argv = ["train", "--text", random_text(tmp_path), *OVERFIT, "--out", str(ckpt)]
    assert run(argv, capsys)[0] == 0
    files = {name: (tmp_path / name).read_bytes() for name in ("m.npz", "m_best.npz")}
    code, _, err = run([*argv, "--patience", "1"], capsys)
    assert code == 1
    one_line_error(err.splitlines()[-1], "stopped early", ckpt, "100 steps", "--overwrite")
    assert {name: (tmp_path / name).read_bytes() for name in files} == files


def test_train_does_not_replace_a_file_that_is_not_a_checkpoint_with_the_best(
    tmp_path, capsys, monkeypatch
):
    (tmp_path / "m_best.npz").write_text("precious")
    no_training(monkeypatch)
    code, _, err = run(train_argv(tmp_path, tmp_path / "m.npz"), capsys)
    assert code == 1 and (tmp_path / "m_best.npz").read_text() == "precious"
    one_line_error(err, tmp_path / "m_best.npz", "not a checkpoint", "--overwrite")


# --- the first hour: what a newcomer hits ---------------------------------------------------------


def test_every_integer_option_has_a_range_and_an_oversized_value_is_one_line(capsys):
    """`explore --steps 99999999999999999999` ended in NumPy's "Maximum allowed dimension
    exceeded"; every integer option of every command now names its allowed range."""
    parser = cli.build_parser()
    commands = parser._subparsers._group_actions[0].choices
    checked = 0
    for name, sub in commands.items():
        for action in sub._actions:
            if not action.option_strings or isinstance(action.default, bool):
                continue
            assert action.type not in (int, float), f"{name} {action.option_strings[0]}: unbounded"
            if not isinstance(action.default, int):
                continue
            option = action.option_strings[-1]
            code, out, err = run([name, option, "99999999999999999999"], capsys)
            assert code == 2 and out == "", (name, option)
            last = err.strip().splitlines()[-1]
            assert f"argument {'/'.join(action.option_strings)}: must be an integer from" in last
            assert "got 99999999999999999999" in last
            checked += 1
    assert checked >= 25


def test_explore_with_an_oversized_step_count_names_the_option_and_range(capsys):
    code, _, err = run(["explore", "--steps", "99999999999999999999"], capsys)
    assert code == 2 and "Traceback" not in err
    assert "argument --steps: must be an integer from 1 to 200, got 99999999999999999999" in err
    code, _, err = run(["graph", "--seed", "-1"], capsys)
    assert code == 2 and "--seed: must be an integer from 0 to 4294967295, got -1" in err
    code, _, err = run(["flow", "--forget-biases", "nan"], capsys)
    assert code == 2 and "--forget-biases: must be a finite number, got nan" in err


@pytest.mark.filterwarnings("ignore:explore. no drawing")
def test_main_returns_an_int_for_every_command_help_and_bad_options(tmp_path, capsys, monkeypatch):
    pytest.importorskip("matplotlib")
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot: faster
    ckpt = tmp_path / "m.npz"
    argvs = {
        "demo": ["demo", *TINY, "--out", str(tmp_path / "demo")],
        "train": train_argv(tmp_path, ckpt),
        "sample": sample_argv(ckpt),
        "graph": ["graph", "--steps", "1", "-o", str(tmp_path / "g.gv")],
        "explore": ["explore", "--steps", "1", "-o", str(tmp_path / "e.html")],
        "flow": ["flow", "--steps", "3", "-o", str(tmp_path / "f.png")],
    }
    commands = cli.build_parser()._subparsers._group_actions[0].choices
    assert set(argvs) == set(commands)
    for name in ("demo", "train", "sample", "graph", "explore", "flow"):  # train before sample
        assert type(run(argvs[name], capsys)[0]) is int and run([name, "--help"], capsys)[0] == 0
        assert run([name, "--no-such-option"], capsys)[0] == 2
    assert run(["no-such-command"], capsys)[0] == 2


def test_sample_says_what_is_wrong_with_the_checkpoint_path(tmp_path, capsys):
    code, out, err = run(["sample", "--checkpoint", str(tmp_path)], capsys)
    assert code == 1 and out == "" and "Errno" not in err
    one_line_error(err, f"--checkpoint {tmp_path}: is a folder")
    code, out, err = run(["sample", "--checkpoint", str(tmp_path / "none.npz")], capsys)
    assert code == 1 and out == "" and "Errno" not in err
    one_line_error(err, f"--checkpoint {tmp_path / 'none.npz'}: no such file")


@needs_dot
@pytest.mark.parametrize("ext, magic", [("jpg", b"\xff\xd8\xff"), ("jpeg", b"\xff\xd8\xff")])
def test_graph_renders_the_format_its_extension_names(tmp_path, ext, magic):
    path = tmp_path / f"out.{ext}"
    assert cli.main(["graph", "--steps", "1", "-o", str(path)]) == 0
    assert path.read_bytes()[:3] == magic


def test_an_extension_that_names_another_format_is_refused(tmp_path, capsys):
    cases = [
        (["graph", "-o", str(tmp_path / "out.xyz")], ".xyz"),
        (["graph", "--format", "png", "-o", str(tmp_path / "out.svg")], "--format says png"),
        (["explore", "-o", str(tmp_path / "page.png")], "a .png file"),
    ]
    if importlib.util.find_spec("matplotlib"):
        cases.append((["flow", "-o", str(tmp_path / "flow.xyz")], "a .xyz file"))
    for argv, said in cases:
        code, _, err = run(argv, capsys)
        assert code == 1
        one_line_error(err, said)
    assert list(tmp_path.iterdir()) == []


def test_the_default_outputs_in_a_clone_are_ignored_by_git():
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    defaults = ["tinygrad_seq_demo/charlm.npz", "tinygrad_seq_demo/lstm_graph.svg"]
    defaults += ["charlm.npz", "charlm_best.npz", "gradient_flow.png", "lstm_explorer.html"]
    defaults += ["lstm.svg", "gru.png", "rnn.gv", "gru_explorer.html"]
    done = subprocess.run(
        ["git", "check-ignore", "--no-index", *defaults], cwd=ROOT, capture_output=True, text=True
    )
    assert sorted(done.stdout.split()) == sorted(defaults)
    kept = ["docs/images/lstm.svg", "tinygrad_seq/cli/__init__.py", "examples/char_lm.py"]
    done = subprocess.run(
        ["git", "check-ignore", "--no-index", *kept], cwd=ROOT, capture_output=True
    )
    assert done.stdout == b""


def test_a_log_gets_plain_lines_in_bits_per_character_not_a_progress_bar(tmp_path, capsys):
    pytest.importorskip("tqdm")
    text = hello_text(tmp_path)
    argv = ["train", "--text", text, *TRAIN, "--steps", "20", "--eval-every", "2"]
    code, out, err = run([*argv, "--out", str(tmp_path / "a.npz")], capsys)
    assert code == 0 and "\r" not in out + err and "training:" not in err
    assert "step 2:" in out and "step 20:" in out and "/20:" not in out  # evaluations suffice
    assert "nats" not in out
    code, out, err = run([*argv, "--eval-every", "20", "--out", str(tmp_path / "b.npz")], capsys)
    assert code == 0 and "\r" not in out + err
    progress = [line for line in out.splitlines() if line.startswith("step ") and "/20:" in line]
    assert [line.split(":")[0] for line in progress] == [f"step {s}/20" for s in range(2, 21, 2)]
    assert all("bpc" in line and "loss" not in line for line in progress)


def test_training_and_held_out_bpc_are_measured_alike_and_the_output_says_so(tmp_path, capsys):
    """The "training" bpc was the mean loss of the steps since the last evaluation (the whole
    training text, while the weights changed) and always sat above held-out without a word."""
    from tinygrad_seq import charlm

    ckpt = tmp_path / "m.npz"
    code, out, _ = run(
        ["train", "--text", random_text(tmp_path), *OVERFIT, "--out", str(ckpt)], capsys
    )
    assert code == 0
    assert "every 10 steps: bits per character (bpc) of the current weights on the held-out" in out
    assert "scored the same way, on as many characters of the training text" in out
    last = [line for line in out.splitlines() if line.startswith("step 100:")][0]
    said = float(last.split("training text ")[1].split(" bpc")[0])
    model = charlm.load_checkpoint(ckpt)
    _, train_ids, val_ids = charlm.prepare((tmp_path / "random.txt").read_text(), vocab=model.vocab)
    alike = charlm.evaluate(model.model, train_ids[-len(val_ids) :], batch_size=4, seq_len=16)
    assert f"{alike['bpc']:.3f}" == f"{said:.3f}"


def test_the_demo_time_quoted_is_the_wall_clock_a_newcomer_waits(capsys):
    """The help said "about 25 s" (CPU time) while the demo took ~34 s to come back."""
    import importlib.util as loader

    spec = loader.spec_from_file_location("quoted_numbers", ROOT / "docs/quoted_numbers.py")
    qn = loader.module_from_spec(spec)
    spec.loader.exec_module(qn)
    assert "demo" in qn.WALL_CLOCK  # measured as waited for, not as CPU time
    results = qn.load_results()
    seconds, wall = (
        results["values"]["demo_seconds"],
        results["experiments"]["demo"]["wall_seconds"],
    )
    assert wall <= seconds < wall + 5  # rounded up: a quote promises no less than measured
    assert qn.demo("held-out: 6.59 -> 1.48 bits", 26.1)["demo_seconds"] == 30
    help_text = " ".join(run(["demo", "--help"], capsys)[1].split())
    assert f"about {seconds} seconds on a quiet 2-core machine" in help_text
    assert "CPU time" not in help_text and "half a minute" not in help_text
    overview = " ".join(run(["--help"], capsys)[1].split())
    assert f"train a character-level LSTM (about {seconds} s)" in overview
