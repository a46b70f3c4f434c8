"""The character-level language model: shapes, learning, truncated BPTT, sampling, checkpoints."""

import math
import warnings

import numpy as np
import pytest

import tinygrad_seq as tg
from tinygrad_seq import charlm, data

TEXT = "hello world\n" * 40  # tiny and repetitive: learnable in a few dozen steps


@pytest.fixture
def corpus():
    return charlm.prepare(TEXT, val_fraction=0.1)


def tiny_model(vocab_size, kind="lstm", layers=1, dropout=0.0, seed=0):
    return charlm.CharLM(vocab_size, 8, 16, layers, kind, dropout, seed=seed)


def tiny_config(**changes):
    options = dict(steps=40, batch_size=4, seq_len=8, lr=0.05, eval_every=20)
    return charlm.TrainConfig(**{**options, **changes})


def trained(corpus, steps=40):
    vocab, train_ids, val_ids = corpus
    model = tiny_model(len(vocab))
    result = charlm.train(model, train_ids, val_ids, tiny_config(steps=steps))
    return model, vocab, result


# --- the model ------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(charlm.KINDS))
@pytest.mark.parametrize("layers", [1, 2])
def test_shapes(kind, layers):
    model = tiny_model(11, kind, layers)
    logits, state = model(np.zeros((3, 5), dtype=np.int64))
    assert logits.shape == (3, 5, 11) and logits.dtype == np.float32
    states = state if kind == "lstm" else (state,)
    assert [s.shape for s in states] == [(layers, 3, 16)] * len(states)
    logits, _ = model(np.ones((3, 1), dtype=np.int64), state)  # the state goes back in
    assert logits.shape == (3, 1, 11)


def test_config_rebuilds_the_model():
    model = tiny_model(7, "gru", layers=2, dropout=0.25)
    again = charlm.CharLM(**model.config)
    assert [n for n, _ in again.named_parameters()] == [n for n, _ in model.named_parameters()]
    assert again.config == model.config


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="kind must be one of"):
        charlm.CharLM(5, kind="transformer")
    with pytest.raises(ValueError, match=r"\(batch, seq\)"):
        tiny_model(5)(np.zeros(4, dtype=np.int64))
    with pytest.raises(ValueError, match="optimizer"):
        charlm.TrainConfig(optimizer="adagrad")
    with pytest.raises(ValueError, match="seq_len"):
        charlm.TrainConfig(seq_len=0)


# --- training -------------------------------------------------------------------------------------


def test_training_reduces_the_loss(corpus):
    vocab, _, val_ids = corpus
    model = tiny_model(len(vocab))
    before = charlm.evaluate(model, val_ids)
    assert before["bpc"] == pytest.approx(math.log2(len(vocab)), abs=0.5)  # knows nothing yet
    model, vocab, result = trained(corpus)
    assert result.step == 40 and len(result.losses) == 40 and not result.interrupted
    assert [e["step"] for e in result.evals] == [20, 40]
    assert result.losses[-1] < result.losses[0] / 4
    assert result.evals[-1]["bpc"] < 0.5 < before["bpc"]


def overfitting_run(**config):
    """Train on 240 random characters: the held-out loss can only get worse than guessing's once
    the model starts to learn the training characters by heart, and soon does."""
    rng = np.random.default_rng(0)
    vocab, train_ids, val_ids = charlm.prepare("".join(rng.choice(list("abcdefgh"), 1000)), 0.2)
    model = charlm.CharLM(len(vocab), 8, 32, seed=0)
    options = dict(steps=60, batch_size=4, seq_len=16, lr=0.03, schedule="constant", eval_every=5)
    result = charlm.train(model, train_ids, val_ids, charlm.TrainConfig(**(options | config)))
    return model, val_ids, result


def test_train_marks_the_best_evaluation_and_keeps_its_weights():
    model, val_ids, result = overfitting_run()
    held_out = [e["loss"] for e in result.evals]
    best = int(np.argmin(held_out))
    assert [e["best"] for e in result.evals] == [
        i == 0 or held_out[i] < min(held_out[:i]) for i in range(len(held_out))
    ]
    assert result.best is result.evals[best] and held_out[-1] > held_out[best]  # it overfits
    assert result.evals[-1]["train_loss"] < result.evals[best]["train_loss"]
    since = [(e["step"] - 5, e["step"]) for e in result.evals]
    assert [e["train_loss"] for e in result.evals] == [
        pytest.approx(np.mean(result.losses[a:b])) for a, b in since
    ]
    restored = charlm.CharLM(**model.config, seed=1)
    restored.load_state_dict(result.best_state)
    assert charlm.evaluate(restored, val_ids, batch_size=4, seq_len=16) == {
        "loss": result.best["loss"],
        "bpc": result.best["bpc"],
    }
    assert not result.stopped_early and result.step == 60


def test_patience_stops_after_that_many_evaluations_without_a_new_best():
    full = overfitting_run()[2]
    last_best = max(i for i, e in enumerate(full.evals) if e["best"])
    assert last_best + 3 < len(full.evals)  # room for three evaluations that do not improve
    model, _, result = overfitting_run(patience=3)
    assert result.stopped_early and result.step == full.evals[last_best + 3]["step"]
    assert [e["loss"] for e in result.evals] == [e["loss"] for e in full.evals[: last_best + 4]]
    with pytest.raises(ValueError, match="patience"):
        charlm.TrainConfig(patience=0)


@pytest.mark.parametrize("optimizer", charlm.OPTIMIZERS)
def test_every_optimizer_and_kind_learns(corpus, optimizer):
    vocab, train_ids, _ = corpus
    for kind in charlm.KINDS:
        model = tiny_model(len(vocab), kind)
        lr = 0.5 if optimizer == "sgd" else 0.05
        result = charlm.train(model, train_ids, None, tiny_config(optimizer=optimizer, lr=lr))
        assert np.mean(result.losses[-5:]) < 0.6 * np.mean(result.losses[:5]), kind


def test_evaluate_records_no_graph_and_keeps_the_mode(corpus):
    vocab, _, val_ids = corpus
    model = tiny_model(len(vocab), layers=2, dropout=0.5)
    first = charlm.evaluate(model, val_ids, batch_size=2, seq_len=4)
    assert model.training  # put back as it was
    assert charlm.evaluate(model, val_ids, batch_size=2, seq_len=4) == first  # dropout is off
    assert first["bpc"] == pytest.approx(first["loss"] / math.log(2))
    assert all(p.grad is None for p in model.parameters())


def test_ctrl_c_stops_training_cleanly(corpus, monkeypatch):
    vocab, train_ids, val_ids = corpus
    calls, real_step = [], charlm.train_step

    def interrupted_on_the_third_call(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real_step(*args, **kwargs)

    monkeypatch.setattr(charlm.training, "train_step", interrupted_on_the_third_call)
    result = charlm.train(tiny_model(len(vocab)), train_ids, val_ids, tiny_config())
    assert result.interrupted and result.step == 2 and len(result.losses) == 2


def test_resuming_continues_the_step_count(corpus):
    vocab, train_ids, _ = corpus
    seen = []
    result = charlm.train(
        tiny_model(len(vocab)),
        train_ids,
        config=tiny_config(steps=8),
        start_step=5,
        callback=lambda step, loss, evaluation: seen.append(step),
    )
    assert seen == [6, 7, 8] and result.step == 8


# --- truncated backpropagation through time -------------------------------------------------------


def test_train_step_returns_a_detached_state(corpus):
    vocab, train_ids, _ = corpus
    model = tiny_model(len(vocab))
    x, y = next(data.contiguous_batches(train_ids, 4, 8))
    opt = charlm.make_optimizer(model, tiny_config())
    _, (h, c) = charlm.train_step(model, opt, x, y, clip=1.0)
    assert not h.requires_grad and h.node is None and not c.requires_grad and c.node is None
    x2, y2 = x[:, ::-1].copy(), y[:, ::-1].copy()
    charlm.train_step(model, opt, x2, y2, (h, c))  # the next window runs on from the state


def test_without_the_cut_the_second_backward_fails(corpus):
    """What detaching prevents: backward of window 2 reaching into window 1's freed graph."""
    vocab, train_ids, _ = corpus
    model = tiny_model(len(vocab))
    windows = data.contiguous_batches(train_ids, 4, 8)
    (x1, y1), (x2, y2) = next(windows), next(windows)
    logits, state = model(x1)
    tg.nn.functional.cross_entropy(logits.reshape(-1, len(vocab)), y1.reshape(-1)).backward()
    logits, _ = model(x2, state)  # not detached
    loss = tg.nn.functional.cross_entropy(logits.reshape(-1, len(vocab)), y2.reshape(-1))
    with pytest.raises(RuntimeError, match="second time"):
        loss.backward()
    loss, _ = charlm.window_loss(model, x2, y2, state)  # window_loss detaches first
    loss.backward()


class StateSpy(charlm.CharLM):
    """A CharLM that records the state handed to each forward call."""

    def forward(self, ids, state=None):
        self.received.append(state)
        return super().forward(ids, state)


def test_bptt_cuts_the_gradient_but_not_the_values(corpus):
    vocab, train_ids, _ = corpus
    model = StateSpy(len(vocab), 8, 16, seed=0)
    x, y = next(data.contiguous_batches(train_ids, 4, 8))
    grads = {}
    for bptt in (None, 8, 3):
        model.received = []
        model.zero_grad()
        loss, _ = charlm.window_loss(model, x, y, bptt=bptt)
        loss.backward()
        grads[bptt] = (loss.item(), model.rnn.weight_hh_l0.grad.numpy().copy(), model.received)
    assert len(grads[3][2]) == 3  # chunks of 3, 3 and 2 characters
    assert all(s is None or not s[0].requires_grad for s in grads[3][2])
    assert grads[None][0] == grads[8][0] == pytest.approx(grads[3][0], rel=1e-6)  # same values
    np.testing.assert_array_equal(grads[None][1], grads[8][1])
    assert not np.allclose(grads[None][1], grads[3][1])  # shorter horizon, different gradient


# --- sampling -------------------------------------------------------------------------------------


def test_sampling_is_deterministic_under_a_seed(corpus):
    vocab = corpus[0]
    model = tiny_model(len(vocab))
    first = charlm.sample(model, vocab, "he", length=60, rng=0)
    assert first.startswith("he") and len(first) == 62
    assert charlm.sample(model, vocab, "he", length=60, rng=np.random.default_rng(0)) == first
    assert charlm.sample(model, vocab, "he", length=60, rng=1) != first
    assert charlm.sample(model, vocab, "he", length=0) == "he"


def test_low_temperature_is_greedy_and_greedy_matches_the_full_forward(corpus):
    vocab = corpus[0]
    model = tiny_model(len(vocab), seed=3)
    greedy = charlm.sample(model, vocab, "wor", length=30, temperature=0)
    for seed in range(3):
        assert charlm.sample(model, vocab, "wor", 30, temperature=1e-4, rng=seed) == greedy
    # step by step with the carried state == the argmax of one forward over the whole text
    ids = vocab.encode(greedy)
    with tg.no_grad():
        logits, _ = model(ids[None, :-1])
    np.testing.assert_array_equal(logits.numpy()[0, 2:].argmax(-1), ids[3:])


def test_temperature_sharpens_and_flattens_the_distribution():
    rng = np.random.default_rng(0)
    logits = np.array([0.0, 1.0], dtype=np.float32)
    for temperature in (0.5, 1.0, 4.0):
        picks = [charlm.model._pick(logits, temperature, rng) for _ in range(4000)]
        expected = 1 / (1 + math.exp(-1 / temperature))  # softmax(logits / T)[1]
        assert np.mean(picks) == pytest.approx(expected, abs=0.03)


def test_a_trained_model_writes_what_it_read(corpus):
    model, vocab, _ = trained(corpus)
    assert charlm.sample(model, vocab, "hello", length=19, temperature=0) == "hello world\n" * 2


def test_sampling_errors_are_clear(corpus):
    vocab = corpus[0]
    model = tiny_model(len(vocab))
    with pytest.raises(ValueError, match="prompt"):
        charlm.sample(model, vocab, "")
    with pytest.raises(data.UnknownCharError, match="'z'"):
        charlm.sample(model, vocab, "hez")
    with pytest.raises(ValueError, match="temperature"):
        charlm.sample(model, vocab, "h", temperature=-1.0)


# --- checkpoints ----------------------------------------------------------------------------------


def test_checkpoint_round_trip(corpus, tmp_path):
    model, vocab, result = trained(corpus, steps=10)
    config = tiny_config(steps=10)
    path = tmp_path / "lm.npz"
    charlm.save_checkpoint(path, model, vocab, result.optimizer, step=result.step, config=config)
    ckpt = charlm.load_checkpoint(path)
    assert ckpt.step == 10 and ckpt.config == config and ckpt.vocab == vocab
    assert ckpt.model.config == model.config
    for seed in range(3):
        expected = charlm.sample(model, vocab, "hel", length=40, rng=seed)
        assert charlm.sample(ckpt.model, ckpt.vocab, "hel", length=40, rng=seed) == expected
    # the optimizer's moments came back too: one more identical step on both
    x, y = next(data.contiguous_batches(corpus[1], 4, 8))
    loss_a, _ = charlm.train_step(model, result.optimizer, x, y, clip=1.0)
    loss_b, _ = charlm.train_step(ckpt.model, ckpt.optimizer, x, y, clip=1.0)
    assert loss_a == loss_b
    for (name, a), b in zip(model.named_parameters(), ckpt.model.parameters()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=name)


def test_checkpoint_without_optimizer_and_foreign_files(tmp_path):
    vocab = data.CharVocab("ab")
    path = charlm.save_checkpoint(tmp_path / "w.npz", tiny_model(2, "rnn"), vocab)
    ckpt = charlm.load_checkpoint(path)
    assert ckpt.optimizer is None and ckpt.config is None and ckpt.model.kind == "rnn"
    tg.save({"weight": np.ones(2)}, tmp_path / "other.npz")
    with pytest.raises(ValueError, match="not a CharLM checkpoint"):
        charlm.load_checkpoint(tmp_path / "other.npz")


def _checkpoint_state(tmp_path):
    path = tmp_path / "good.npz"
    model = tiny_model(3, "gru", layers=2)
    opt = charlm.make_optimizer(model, tiny_config())
    ids = np.zeros((2, 3), dtype=np.int64)
    charlm.train_step(model, opt, ids, ids)  # so that the optimizer has state to save
    charlm.save_checkpoint(path, model, data.CharVocab("abc"), opt, step=4, config=tiny_config())
    return tg.load(path)


def _without(mapping, key):
    return {k: v for k, v in mapping.items() if k != key}


def _config(**changes):
    return lambda s: {**s, "model_config": {**s["model_config"], **changes}}


BAD_CHECKPOINTS = {  # field named in the error -> how the file's state is spoiled
    "vocab": lambda s: _without(s, "vocab"),
    "vocab.chars": lambda s: {**s, "vocab": {"chars": 5}},
    "model_config": lambda s: {**s, "model_config": [1, 2]},
    "model_config.hidden_size": _config(hidden_size=10**6),
    "model_config.num_layers": _config(num_layers="2"),
    "model_config.kind": _config(kind="transformer"),
    "model_config.dropout": _config(dropout=2.0),
    "model_config.vocab_size": _config(vocab_size=4),
    "model_config.embedding_dim": lambda s: {**s, "model_config": _without(s["model_config"], "embedding_dim")},  # noqa: E501
    "model.rnn.weight_hh_l1": lambda s: {**s, "model": _without(s["model"], "rnn.weight_hh_l1")},
    "model.head.bias": lambda s: {**s, "model": {**s["model"], "head.bias": np.zeros(7)}},
    "model": lambda s: {**s, "model": {**s["model"], "extra": np.zeros(1)}},
    "step": lambda s: {**s, "step": -1},
    "train_config": lambda s: {**s, "train_config": {**s["train_config"], "nope": 1}},
    "train_config.lr": lambda s: {**s, "train_config": {**s["train_config"], "lr": "fast"}},
    "optimizer": lambda s: {**s, "optimizer": {"state": 3}},
    "model.rnn.weight_hh_l0": lambda s: _spoiled_weight(s, "rnn.weight_hh_l0", np.nan),
    "model.head.weight": lambda s: _spoiled_weight(s, "head.weight", -np.inf),
    "optimizer.state.0.exp_avg": lambda s: _spoiled_moment(s, "exp_avg", lambda m: m + 1j),
    "optimizer.state.0.exp_avg_sq": lambda s: _spoiled_moment(s, "exp_avg_sq", _nan),
}  # fmt: skip


def _nan(array):
    return np.full_like(array, np.nan)


def _spoiled_weight(state, name, value):
    """A diverged run's weights: one entry of ``name`` is ``value`` (NaN, inf)."""
    weight = state["model"][name].copy()
    weight.flat[0] = value
    return {**state, "model": {**state["model"], name: weight}}


def _spoiled_moment(state, name, change):
    """The optimizer's first parameter's state ``name`` changed (complex, NaN)."""
    optimizer = state["optimizer"]
    key = next(iter(optimizer["state"]))
    entries = {**optimizer["state"][key], name: change(optimizer["state"][key][name])}
    return {**state, "optimizer": {**optimizer, "state": {**optimizer["state"], key: entries}}}


@pytest.mark.parametrize("field", sorted(BAD_CHECKPOINTS))
def test_a_checkpoint_with_bad_contents_names_the_field(field, tmp_path):
    path = tmp_path / "bad.npz"
    tg.save(BAD_CHECKPOINTS[field](_checkpoint_state(tmp_path)), path)
    with pytest.raises(ValueError) as exc, warnings.catch_warnings():
        warnings.simplefilter("error")  # refused, not cast with NumPy's ComplexWarning
        charlm.load_checkpoint(path)
    message = str(exc.value)
    assert "bad.npz" in message and field in message, message


def test_a_model_with_nan_weights_refuses_to_sample(corpus):
    vocab = corpus[0]
    model = tiny_model(len(vocab))
    model.rnn.weight_hh_l0.numpy()[0, 0] = np.nan
    with pytest.raises(ValueError, match=r"not finite.*rnn\.weight_hh_l0"):
        charlm.sample(model, vocab, "he", length=5)


@pytest.mark.parametrize("temperature", [1e-30, 1e-300, 5e-324])
def test_a_tiny_temperature_is_greedy(corpus, temperature):
    vocab = corpus[0]
    model = tiny_model(len(vocab), seed=3)  # float32 logits: T rounds to 0 in float32
    greedy = charlm.sample(model, vocab, "wor", length=30, temperature=0)
    for seed in range(2):
        assert charlm.sample(model, vocab, "wor", 30, temperature=temperature, rng=seed) == greedy


def test_a_huge_temperature_is_uniform():
    rng = np.random.default_rng(0)
    logits = np.array([0.0, 30.0, -30.0], dtype=np.float32)
    picks = [charlm.model._pick(logits, 1e300, rng) for _ in range(3000)]
    assert np.bincount(picks, minlength=3) / 3000 == pytest.approx([1 / 3] * 3, abs=0.04)


# --- a run that keeps its checkpoints (charlm.fit; checkpoint_floor, check_replaceable) ---------
# The CLI's wording of the same rules is tested in test_cli.py.

RUN_TEXT = "the cat sat on the mat; " * 40


@pytest.fixture
def small_run():
    """(model, vocab, train ids, held-out ids): a tiny LSTM and its data."""
    vocab, train_ids, val_ids = charlm.prepare(RUN_TEXT, val_fraction=0.2)
    return charlm.CharLM(len(vocab), 4, 8, seed=0), vocab, train_ids, val_ids


def run_config(**changes):
    return charlm.TrainConfig(**{**dict(steps=6, batch_size=2, seq_len=8, eval_every=2), **changes})


def saved_checkpoint(path, small_run, steps):
    model, vocab = small_run[:2]
    charlm.save_checkpoint(path, model, vocab, step=steps)
    return path


def test_the_floor_is_the_existing_checkpoints_steps(tmp_path, small_run):
    path = tmp_path / "m.npz"
    assert charlm.checkpoint_floor(path, steps=5) == 0  # nothing there yet
    saved_checkpoint(path, small_run, 4)
    assert charlm.checkpoint_floor(path, steps=5) == 4
    assert charlm.checkpoint_floor(path, steps=4) == 4
    assert charlm.checkpoint_floor(path, steps=3, overwrite=True) == 0
    with pytest.raises(charlm.ExistingCheckpoint) as info:
        charlm.checkpoint_floor(path, steps=3)  # could never reach 4 steps
    assert info.value.steps == 4 and info.value.path == path and "4 steps" in str(info.value)


def test_a_file_that_is_not_a_checkpoint_is_never_replaced(tmp_path, small_run):
    junk = tmp_path / "notes.npz"
    junk.write_text("my notes")
    for check in (lambda path: charlm.checkpoint_floor(path, 5), charlm.check_replaceable):
        with pytest.raises(charlm.ExistingCheckpoint) as info:
            check(junk)
        assert info.value.steps is None and "not a checkpoint" in str(info.value)
    assert charlm.checkpoint_floor(junk, 5, overwrite=True) == 0
    charlm.check_replaceable(junk, overwrite=True)
    charlm.check_replaceable(saved_checkpoint(tmp_path / "m.npz", small_run, 2))
    charlm.check_replaceable(tmp_path / "missing.npz")


def test_fit_saves_every_n_steps_at_the_end_and_the_best_beside(tmp_path, small_run):
    model, vocab, train_ids, val_ids = small_run
    path, best_path = tmp_path / "m.npz", tmp_path / "m_best.npz"
    seen = []

    def callback(step, loss, scores):  # called before the step's saves
        seen.append((step, path.exists() and charlm.load_checkpoint(path).step))

    result, saved = charlm.fit(
        model,
        vocab,
        train_ids,
        val_ids,
        run_config(steps=5),
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


def test_fit_below_the_floor_saves_nothing(tmp_path, small_run):
    model, vocab, train_ids, val_ids = small_run
    path = saved_checkpoint(tmp_path / "m.npz", small_run, 10)
    before = path.read_bytes()
    best_path = tmp_path / "m_best.npz"
    result, saved = charlm.fit(
        model,
        vocab,
        train_ids,
        val_ids,
        run_config(steps=4),
        path,
        save_every=1,
        floor=10,
        best_path=best_path,
    )
    assert result.step == 4 and saved is None
    assert path.read_bytes() == before and not best_path.exists()


def test_best_checkpoint_path_sits_beside():
    assert charlm.best_checkpoint_path("runs/m.npz") == "runs/m_best.npz"
    assert charlm.best_checkpoint_path("m") == "m_best"


def test_evaluate_and_sample(small_run):
    model, vocab, _, val_ids = small_run
    config = run_config()
    scores, text = charlm.evaluate_and_sample(model, vocab, val_ids, config, "the ", 5, 0.0, 0)
    assert scores["bpc"] > 0 and text.startswith("the ") and len(text) == 9
    with pytest.raises(ValueError, match="not in the vocabulary"):
        charlm.evaluate_and_sample(model, vocab, val_ids, run_config(), "xyz", 5, 0.0, 0)
