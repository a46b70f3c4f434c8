"""The examples run: each one in a tiny configuration (seconds), its printed output checked.

Every example in ``examples/`` has a ``main(argv=None)``; ``load_example(name)`` imports the file
as a module so a test can call it with a short argument list.
"""

import doctest
import importlib.util
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def load_example(name):
    """The module ``examples/<name>.py`` (imported once, then reused)."""
    key = f"example_{name}"
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, EXAMPLES / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module
        spec.loader.exec_module(module)
    return sys.modules[key]


def run_example(name, argv, capsys):
    """Run ``main(argv)`` of an example; returns (exit code, stdout)."""
    code = load_example(name).main(argv)
    return code, capsys.readouterr().out


# --- char_lm.py -----------------------------------------------------------------------------------

CHAR_LM_TINY = ["--chars", "5000", "--hidden", "16", "--emb", "8", "--batch", "4"]
CHAR_LM_TINY += ["--seq-len", "8", "--eval-every", "2", "--length", "12"]


def test_char_lm_trains_resumes_and_samples(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code, out = run_example("char_lm", [*CHAR_LM_TINY, "--steps", "4", "--bptt", "3"], capsys)
    assert code == 0 and "step     4" in out and "saved step 4 to char_lm.npz" in out
    assert "--- sample" in out and (tmp_path / "char_lm.npz").exists()
    argv = [*CHAR_LM_TINY, "--resume", "char_lm.npz", "--steps", "6", "--prompt", "import "]
    code, out = run_example("char_lm", argv, capsys)
    assert code == 0 and "resuming char_lm.npz at step 4" in out and "saved step 6" in out
    assert "\nimport " in out


def test_char_lm_other_models_and_optimizers(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    argv = [*CHAR_LM_TINY, "--steps", "2", "--model", "gru", "--layers", "2", "--dropout", "0.1"]
    argv += ["--optimizer", "sgd", "--lr", "0.1", "--clip", "0", "--checkpoint", "gru.npz"]
    code, out = run_example("char_lm", argv, capsys)
    assert code == 0 and "GRU(8, 16, num_layers=2" in out and (tmp_path / "gru.npz").exists()


CHAR_LM_QUICK = ["--chars", "20000", "--hidden", "32", "--emb", "16", "--batch", "8"]
CHAR_LM_QUICK += ["--seq-len", "16", "--steps", "100", "--eval-every", "50", "--length", "40"]


def test_char_lm_quick_setting_learns(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code, out = run_example("char_lm", CHAR_LM_QUICK, capsys)
    assert code == 0
    guessing = float(out.split("guessing scores ")[1].split()[0])
    held_out = [float(line.split()[-2]) for line in out.splitlines() if "held-out" in line]
    assert len(held_out) == 2 and held_out[-1] < guessing - 2  # it learns in 100 steps


def test_char_lm_help(capsys):
    with pytest.raises(SystemExit) as exc:
        load_example("char_lm").main(["--help"])
    out = capsys.readouterr().out
    assert exc.value.code == 0
    for option in ("--model", "--bptt", "--optimizer", "--dropout", "--resume", "--temperature"):
        assert option in out


# --- adding_problem.py, sequence_classification.py, gradient_flow.py ------------------------------


def _table_rows(out):
    """{first cell: [other cells]} of the Markdown table rows in ``out`` (header included; the
    rule below the header starts with "|:" or "|-", not "| ")."""
    rows = {}
    for line in out.splitlines():
        if line.startswith("| ") and line.endswith(" |"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            rows[cells[0]] = cells[1:]
    return rows


ALL = [
    "adding_problem",
    "sequence_classification",
    "gradient_flow",
    "char_lm",
    "manual_bptt",
    "higher_order",
    "seq2seq_attention",
    "transformer_lm",
]


@pytest.mark.parametrize("name", ALL)
def test_example_help_shows_every_default(name, capsys):
    with pytest.raises(SystemExit) as exit_info:
        load_example(name).main(["--help"])
    assert exit_info.value.code == 0
    assert "usage:" in capsys.readouterr().out
    parser = load_example(name).build_parser()
    for action in parser._actions:
        if action.dest == "help":
            continue
        assert action.help and "default" in action.help, action.option_strings
        if "%(default)" not in action.help and action.default not in (None, False):
            values = action.default if isinstance(action.default, list) else [action.default]
            shown = [f"{v:g}" if isinstance(v, float) else str(v) for v in values]
            assert all(v in action.help for v in shown), action.option_strings


def test_adding_problem_prints_a_row_per_length_and_a_column_per_model(capsys):
    argv = ["--lengths", "4", "6", "--steps", "2", "--batch-size", "4", "--hidden-size", "3"]
    code, out = run_example("adding_problem", argv + ["--test-size", "16"], capsys)
    assert code == 0
    rows = _table_rows(out)
    assert rows["T"] == ["predict 1", "tanh RNN", "LSTM", "GRU"]
    for T in ("4", "6"):
        baseline, *mses = (float(cell) for cell in rows[T])
        assert 0 < baseline < 1 and len(mses) == 3 and all(m >= 0 for m in mses)
    assert "total time" in out


ADDING_QUICK = ["--lengths", "50", "--steps", "300", "--hidden-size", "16", "--test-size", "200"]
ADDING_QUICK += ["--models", "rnn", "gru"]


def test_adding_problem_quick_setting_shows_the_gru_remembering(capsys):
    code, out = run_example("adding_problem", ADDING_QUICK, capsys)
    assert code == 0
    baseline, rnn, gru = (float(cell) for cell in _table_rows(out)["50"])
    assert rnn > 0.8 * baseline and gru < 0.05 * baseline  # in 300 steps, at T = 50


def test_adding_problem_sets_the_lstm_forget_bias():
    ap = load_example("adding_problem")
    model = ap.Regressor("lstm", hidden_size=5, seed=0, forget_bias=2.0)
    total = model.rnn.bias_ih_l0.numpy() + model.rnn.bias_hh_l0.numpy()  # gates stacked i, f, g, o
    assert (total[5:10] == 2.0).all() and not (total[:5] == 2.0).any()


def test_adding_problem_rejects_too_short_sequences():
    with pytest.raises(SystemExit, match="at least 2"):
        load_example("adding_problem").main(["--lengths", "1"])


def test_sequence_classification_quick_setting_classifies(capsys):
    pytest.importorskip("sklearn")
    code, out = run_example("sequence_classification", ["--epochs", "2"], capsys)
    assert code == 0
    final = [line for line in out.splitlines() if line.startswith("test accuracy:")]
    accuracy = float(final[0].split()[2].rstrip("%"))
    assert accuracy > 70  # chance is 10%: two epochs (about a second) read the digits


def test_sequence_classification_without_sklearn_says_how_to_install(capsys, monkeypatch):
    sc = load_example("sequence_classification")

    def missing():
        raise ImportError("digits_sequences() needs scikit-learn: pip install scikit-learn")

    monkeypatch.setattr(sc.data, "digits_sequences", missing)
    assert sc.main([]) == 1
    assert "pip install scikit-learn" in capsys.readouterr().err


def test_gradient_flow_prints_every_model_and_writes_the_png(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "flow.png"
    code, out = run_example("gradient_flow", ["--steps", "12", "-o", str(path)], capsys)
    assert code == 0
    rows = _table_rows(out)
    expected = ["tanh RNN", "GRU (default init)", "LSTM, forget bias 1", "GRU, update bias 1"]
    expected += ["LSTM, forget bias 3", "GRU, update bias 3"]
    assert [r for r in rows if r != "model"] == expected
    assert rows["model"][:2] == ["t=0", "t=2"] and rows["model"][-1] == "per step"
    assert float(rows["tanh RNN"][0]) < float(rows["LSTM, forget bias 3"][0]) / 10
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_gradient_flow_gates_keep_more_gradient_than_the_tanh_rnn():
    gf = load_example("gradient_flow")
    flows = gf.all_flows(steps=40, gate_biases=[3.0], input_size=4, hidden_size=16, seed=0)
    first = {label: norms[0] for label, norms in flows.items()}  # ||dL/dh_0||
    assert first["tanh RNN"] < 1e-3 * first["LSTM, forget bias 3"]
    assert first["tanh RNN"] < 1e-3 * first["GRU, update bias 3"]
    assert gf.per_step_factor(flows["tanh RNN"]) < 0.9


def test_gradient_flow_no_plot_writes_nothing(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out = run_example("gradient_flow", ["--steps", "5", "--no-plot"], capsys)
    assert code == 0 and "tanh RNN" in out and not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    "name",
    [
        "adding_problem",
        "sequence_classification",
        "gradient_flow",
        "manual_bptt",
        "higher_order",
        "seq2seq_attention",
        "transformer_lm",
    ],
)
def test_example_docstrings_run(name):
    result = doctest.testmod(load_example(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


# --- higher_order.py ------------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["rnn", "lstm", "gru"])
def test_higher_order_prints_loss_and_sharpness_per_measurement(model, capsys):
    argv = ["--model", model, "--steps", "2", "--every", "1", "--iterations", "3"]
    code, out = run_example("higher_order", argv + ["--seq-len", "4", "--batch-size", "3"], capsys)
    assert code == 0 and "2/lr = 6.67" in out
    rows = _table_rows(out)
    assert [r for r in rows if r != "step"] == ["0", "1", "2"]
    losses = [float(rows[k][0]) for k in ("0", "1", "2")]
    assert losses[2] < losses[0]  # gradient descent at a stable learning rate
    assert all(float(rows[k][1]) > 0 for k in ("0", "1", "2"))


def test_higher_order_help_shows_the_defaults(capsys):
    with pytest.raises(SystemExit):
        load_example("higher_order").main(["--help"])
    out = capsys.readouterr().out
    assert "(default: lstm)" in out and "(default: 0.3)" in out


# --- seq2seq_attention.py, transformer_lm.py ---------------------------------------------------

SEQ2SEQ_QUICK = ["--length", "20", "--steps", "200", "--test-size", "100"]


def test_seq2seq_quick_setting_attention_beats_the_plain_encoder_decoder(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    heatmap = tmp_path / "weights.png"
    code, out = run_example(
        "seq2seq_attention", [*SEQ2SEQ_QUICK, "--heatmap", str(heatmap)], capsys
    )
    assert code == 0 and heatmap.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = _table_rows(out)
    per_symbol = {name: float(rows[name][0].rstrip("%")) for name in NAMES_S2S}
    # the point: with one vector between encoder and decoder, 20 symbols back is too far in 200
    # steps; attention reads every input position directly, and so does the Transformer
    assert per_symbol["GRU+attention"] > per_symbol["plain GRU"] + 25
    assert per_symbol["Transformer"] > per_symbol["plain GRU"] + 25
    assert per_symbol["plain GRU"] < 50
    share = float(out.split("its largest weight is within one of input T-1-i at ")[1].split("%")[0])
    assert share > 60  # the weights follow the anti-diagonal: output step i reads input T-1-i


NAMES_S2S = ("plain GRU", "GRU+attention", "Transformer")


def test_seq2seq_rejects_a_too_short_sequence():
    with pytest.raises(SystemExit, match="at least 2"):
        load_example("seq2seq_attention").main(["--length", "1"])
    with pytest.raises(SystemExit, match="must be even"):
        load_example("seq2seq_attention").main(["--hidden-size", "7"])


LM_QUICK = ["--steps", "60", "--chars", "60000", "--eval-every", "30"]


def test_transformer_lm_quick_setting_perplexity_falls(capsys):
    code, out = run_example("transformer_lm", LM_QUICK, capsys)
    assert code == 0
    before, after = (float(v) for v in out.split("held-out perplexity: ")[1].split()[:3:2])
    assert before > 300 and after < before / 4  # from about the vocabulary's size, in 60 steps
