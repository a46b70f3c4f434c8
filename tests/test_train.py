"""Tests for tinygrad_seq/train.py: a training run that keeps its checkpoints (when it saves,
which existing files it refuses to replace, where the best weights go). The CLI's wording of the
same rules is tested in test_cli.py."""

import numpy as np
import pytest

from tinygrad_seq import charlm, train

TEXT = "the cat sat on the mat; " * 40


@pytest.fixture
def run():
    """(model, vocab, train ids, held-out ids): a tiny LSTM and its data."""
    vocab, train_ids, val_ids = charlm.prepare(TEXT, val_fraction=0.2)
    return charlm.CharLM(len(vocab), 4, 8, seed=0), vocab, train_ids, val_ids


def config(**changes):
    return charlm.TrainConfig(**{**dict(steps=6, batch_size=2, seq_len=8, eval_every=2), **changes})


def saved_checkpoint(path, run, steps):
    model, vocab = run[:2]
    charlm.save_checkpoint(path, model, vocab, step=steps)
    return path


def test_the_floor_is_the_existing_checkpoints_steps(tmp_path, run):
    path = tmp_path / "m.npz"
    assert train.checkpoint_floor(path, steps=5) == 0  # nothing there yet
    saved_checkpoint(path, run, 4)
    assert train.checkpoint_floor(path, steps=5) == 4
    assert train.checkpoint_floor(path, steps=4) == 4
    assert train.checkpoint_floor(path, steps=3, overwrite=True) == 0
    with pytest.raises(train.ExistingCheckpoint) as info:
        train.checkpoint_floor(path, steps=3)  # could never reach 4 steps
    assert info.value.steps == 4 and info.value.path == path and "4 steps" in str(info.value)


def test_a_file_that_is_not_a_checkpoint_is_never_replaced(tmp_path, run):
    junk = tmp_path / "notes.npz"
    junk.write_text("my notes")
    for check in (lambda path: train.checkpoint_floor(path, 5), train.check_replaceable):
        with pytest.raises(train.ExistingCheckpoint) as info:
            check(junk)
        assert info.value.steps is None and "not a checkpoint" in str(info.value)
    assert train.checkpoint_floor(junk, 5, overwrite=True) == 0
    train.check_replaceable(junk, overwrite=True)
    train.check_replaceable(saved_checkpoint(tmp_path / "m.npz", run, 2))
    train.check_replaceable(tmp_path / "missing.npz")


def test_fit_saves_every_n_steps_at_the_end_and_the_best_beside(tmp_path, run):
    model, vocab, train_ids, val_ids = run
    path, best_path = tmp_path / "m.npz", tmp_path / "m_best.npz"
    seen = []

    def callback(step, loss, scores):  # called before the step's saves
        seen.append((step, path.exists() and charlm.load_checkpoint(path).step))

    result, saved = train.fit(
        model,
        vocab,
        train_ids,
        val_ids,
        config(steps=5),
        path,
        save_every=2,
        best_path=best_path,
        callback=callback,
    )
    assert saved == result.step == 5 and charlm.load_checkpoint(path).step == 5
    assert seen == [(1, False), (2, False), (3, 2), (4, 2), (5, 4)]
    best = charlm.load_checkpoint(best_path)
    assert best.step == result.best["step"] and best.optimizer is None
    for name, weights in result.best_state.items():
        np.testing.assert_array_equal(best.model.state_dict()[name], weights)


def test_fit_below_the_floor_saves_nothing(tmp_path, run):
    model, vocab, train_ids, val_ids = run
    path = saved_checkpoint(tmp_path / "m.npz", run, 10)
    before = path.read_bytes()
    best_path = tmp_path / "m_best.npz"
    result, saved = train.fit(
        model,
        vocab,
        train_ids,
        val_ids,
        config(steps=4),
        path,
        save_every=1,
        floor=10,
        best_path=best_path,
    )
    assert result.step == 4 and saved is None
    assert path.read_bytes() == before and not best_path.exists()


def test_best_checkpoint_path_sits_beside():
    assert train.best_checkpoint_path("runs/m.npz") == "runs/m_best.npz"
    assert train.best_checkpoint_path("m") == "m_best"


def test_evaluate_and_sample(run):
    model, vocab, _, val_ids = run
    scores, text = train.evaluate_and_sample(model, vocab, val_ids, config(), "the ", 5, 0.0, 0)
    assert scores["bpc"] > 0 and text.startswith("the ") and len(text) == 9
    with pytest.raises(ValueError, match="not in the vocabulary"):
        train.evaluate_and_sample(model, vocab, val_ids, config(), "xyz", 5, 0.0, 0)
