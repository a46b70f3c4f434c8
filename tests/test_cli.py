"""The command line: `python -m tinygrad_seq graph ...`."""

import pathlib
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

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
    for expected in ("t = 2", "forget gate", "rnn.weight_ih_l0", "loss"):
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
    with pytest.raises(SystemExit) as exc:
        cli.main(["graph", "--steps", "0"])
    assert exc.value.code == 2 and "must be a positive integer" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["graph", "--model", "transformer"])


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
