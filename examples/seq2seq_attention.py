"""Reversing a sequence: a GRU encoder-decoder, the same with additive attention, a Transformer.

The task needs long memory: the input is T random symbols, the output the same symbols in reverse
order, so the first symbol to write is the last one read and the last to write is the first read,
T steps back. Three sequence-to-sequence models learn it, each trained with teacher forcing and
cross-entropy on fresh random batches, then tested by greedy decoding (each model reads its own
previous output):

    plain GRU      encoder GRU -> its last hidden state -> decoder GRU -> Linear
                   (the whole input must pass through one H-vector: Sutskever et al., 2014)
    GRU+attention  the same, the encoder bidirectional, and at every output step additive
                   attention over all the encoder's states (Bahdanau et al., 2015):
                       score_j = v . tanh(W s + U h_j),  a = softmax(score),  c = sum_j a_j h_j
    Transformer    nn.Transformer (1 encoder and 1 decoder layer) over embeddings plus learned
                   position embeddings, a causal mask on the decoder (Vaswani et al., 2017)

It prints a table of the test accuracy per symbol and per whole sequence (chance per symbol is
1/symbols). With the defaults (about 75 s of CPU time), measured by
docs/quoted_numbers.py:

    | model         | per symbol | whole sequence | CPU seconds |
    |:--------------|-----------:|---------------:|------------:|
    | plain GRU     |      26.4% |           0.0% |           9 |
    | GRU+attention |      89.8% |          76.5% |          45 |
    | Transformer   |     100.0% |         100.0% |          19 |

With ``--heatmap FILE`` it also draws the attention weights of the trained
GRU+attention model on one test sequence: output step against input position, which for a
reversal should be the anti-diagonal.

    python examples/seq2seq_attention.py              # the defaults: T = 30
    python examples/seq2seq_attention.py --heatmap attention.png
    python examples/seq2seq_attention.py --length 20 --steps 200 --test-size 100
        # the quick setting (seconds): attention and the Transformer far ahead of the plain GRU
"""

import argparse
import sys
import time

import numpy as np

import tinygrad_seq as tg
import tinygrad_seq.nn.functional as F
from tinygrad_seq import nn, optim
from tinygrad_seq._threads import limit_blas_threads

BOS = 0  # the decoder's first input; the symbols are 1..num_symbols
NAMES = {"plain": "plain GRU", "attention": "GRU+attention", "transformer": "Transformer"}


def reversal_batch(n, length, num_symbols, rng):
    """``n`` random sequences of ``length`` symbols in 1..num_symbols, and each reversed.

    >>> src, tgt = reversal_batch(2, 4, 5, np.random.default_rng(0))
    >>> src.shape, bool((tgt == src[:, ::-1]).all()), int(src.min()) >= 1
    ((2, 4), True, True)
    """
    src = rng.integers(1, num_symbols + 1, size=(n, length))
    return src, src[:, ::-1].copy()


def shifted(tgt):
    """The decoder's inputs under teacher forcing: BOS, then the target without its last symbol."""
    return np.concatenate([np.full((len(tgt), 1), BOS), tgt[:, :-1]], axis=1)


class PlainSeq2Seq(nn.Module):
    """Encoder GRU, decoder GRU started from the encoder's last hidden state, Linear readout.

    >>> model = PlainSeq2Seq(5, 8, 16, seed=0)
    >>> model(np.ones((3, 7), int), np.ones((3, 7), int)).shape
    (3, 7, 6)
    """

    def __init__(self, num_symbols, embedding_size, hidden_size, seed=0):
        super().__init__()
        rng = np.random.default_rng(seed)
        self.embed = nn.Embedding(num_symbols + 1, embedding_size, seed=rng)
        self.encoder = nn.GRU(embedding_size, hidden_size, batch_first=True, seed=rng)
        self.decoder = nn.GRU(embedding_size, hidden_size, batch_first=True, seed=rng)
        self.out = nn.Linear(hidden_size, num_symbols + 1, seed=rng)

    def forward(self, src, tgt_in):
        _, h = self.encoder(self.embed(src))
        states, _ = self.decoder(self.embed(tgt_in), h)
        return self.out(states)  # (batch, steps, symbols + 1)

    def generate(self, src, steps):
        """Greedy decoding: each step reads the symbol the previous step chose."""
        _, h = self.encoder(self.embed(src))
        y, outputs = np.full((len(src), 1), BOS), []
        for _ in range(steps):
            state, h = self.decoder(self.embed(y), h)
            y = self.out(state).numpy().argmax(-1)
            outputs.append(y)
        return np.concatenate(outputs, axis=1)


class AttentionSeq2Seq(nn.Module):
    """A GRU encoder and a GRU-cell decoder with additive (Bahdanau) attention over the encoder's
    states. ``forward`` returns the logits and keeps the attention weights of the last call in
    ``self.weights`` (batch, output step, input position).

    >>> model = AttentionSeq2Seq(5, 8, 16, seed=0)
    >>> model(np.ones((3, 7), int), np.ones((3, 6), int)).shape, model.weights.shape
    ((3, 6, 6), (3, 6, 7))
    """

    def __init__(self, num_symbols, embedding_size, hidden_size, seed=0):
        super().__init__()
        rng = np.random.default_rng(seed)
        self.embed = nn.Embedding(num_symbols + 1, embedding_size, seed=rng)
        # bidirectional, as Bahdanau et al.: state j then knows its distance to both ends
        self.encoder = nn.GRU(
            embedding_size, hidden_size // 2, batch_first=True, bidirectional=True, seed=rng
        )
        self.cell = nn.GRUCell(embedding_size + hidden_size, hidden_size, seed=rng)
        self.query = nn.Linear(hidden_size, hidden_size, bias=False, seed=rng)  # W
        self.key = nn.Linear(hidden_size, hidden_size, seed=rng)  # U (and the bias)
        self.score = nn.Linear(hidden_size, 1, bias=False, seed=rng)  # v
        self.out = nn.Linear(2 * hidden_size, num_symbols + 1, seed=rng)
        self.weights = None

    def attend(self, s, keys, states):
        """The context (batch, H) and weights (batch, T) for the decoder state ``s``."""
        scores = self.score(tg.tanh(self.query(s).unsqueeze(1) + keys)).squeeze(-1)
        weights = F.softmax(scores, dim=-1)
        context = (weights.unsqueeze(-1) * states).sum(1)  # sum_j a_j h_j
        return context, weights

    def start(self, src):
        states, h = self.encoder(self.embed(src))
        s = tg.cat([h[0], h[1]], dim=-1)  # the last states of both directions
        return states, self.key(states), s  # U h_j once for every output step

    def step(self, y, s, states, keys):
        """One output step: attend with the previous state, then update it."""
        context, weights = self.attend(s, keys, states)
        s = self.cell(tg.cat([self.embed(y), context], dim=-1), s)
        return self.out(tg.cat([s, context], dim=-1)), s, weights

    def forward(self, src, tgt_in):
        states, keys, s = self.start(src)
        logits, weights = [], []
        for t in range(tgt_in.shape[1]):
            out, s, w = self.step(tgt_in[:, t], s, states, keys)
            logits.append(out)
            weights.append(w.numpy())
        self.weights = np.stack(weights, axis=1)
        return tg.stack(logits, dim=1)

    def generate(self, src, steps):
        states, keys, s = self.start(src)
        y, outputs, weights = np.full(len(src), BOS), [], []
        for _ in range(steps):
            out, s, w = self.step(y, s, states, keys)
            y = out.numpy().argmax(-1)
            outputs.append(y)
            weights.append(w.numpy())
        self.weights = np.stack(weights, axis=1)
        return np.stack(outputs, axis=1)


class TransformerSeq2Seq(nn.Module):
    """``nn.Transformer`` over symbol embeddings plus learned position embeddings.

    >>> model = TransformerSeq2Seq(5, 16, max_length=7, seed=0)
    >>> model(np.ones((3, 7), int), np.ones((3, 7), int)).shape
    (3, 7, 6)
    """

    def __init__(self, num_symbols, d_model, max_length, nhead=4, layers=1, seed=0):
        super().__init__()
        rng = np.random.default_rng(seed)
        self.embed = nn.Embedding(num_symbols + 1, d_model, seed=rng)
        self.position = nn.Embedding(max_length, d_model, seed=rng)
        self.transformer = nn.Transformer(
            d_model, nhead, layers, layers, dim_feedforward=2 * d_model, dropout=0.0,
            batch_first=True, seed=rng,
        )  # fmt: skip
        self.out = nn.Linear(d_model, num_symbols + 1, seed=rng)

    def _embed(self, ids):
        return self.embed(ids) + self.position(np.arange(ids.shape[1]))

    def forward(self, src, tgt_in):
        mask = nn.Transformer.generate_square_subsequent_mask(tgt_in.shape[1])
        return self.out(self.transformer(self._embed(src), self._embed(tgt_in), tgt_mask=mask))

    def generate(self, src, steps):
        y = np.full((len(src), 1), BOS)
        for _ in range(steps):  # the whole prefix again at each step: simple, fine at this size
            y = np.concatenate([y, self(src, y).numpy()[:, -1:].argmax(-1)], axis=1)
        return y[:, 1:]


def make_model(kind, args):
    if kind == "plain":
        return PlainSeq2Seq(args.symbols, args.embedding_size, args.hidden_size, seed=args.seed)
    if kind == "attention":
        return AttentionSeq2Seq(args.symbols, args.embedding_size, args.hidden_size, seed=args.seed)
    return TransformerSeq2Seq(args.symbols, args.d_model, args.length, seed=args.seed)


def train(kind, args):
    """Train one model; returns (model, per-symbol accuracy, whole-sequence accuracy, seconds of
    CPU time the training took: on one BLAS thread its wall time on a quiet machine, and on a busy
    one it does not count the waiting)."""
    rng = np.random.default_rng(args.seed)  # the same batches for every model
    src_test, tgt_test = reversal_batch(args.test_size, args.length, args.symbols, rng)
    model = make_model(kind, args)
    opt = optim.Adam(model.parameters(), lr=args.lr)
    start = time.process_time()
    for _ in range(args.steps):
        src, tgt = reversal_batch(args.batch_size, args.length, args.symbols, rng)
        logits = model(src, shifted(tgt))
        loss = F.cross_entropy(logits.reshape(-1, args.symbols + 1), tgt.reshape(-1))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), args.clip)
        opt.step()
    seconds = time.process_time() - start
    with tg.no_grad():
        guess = model.generate(src_test, args.length)
    correct = guess == tgt_test
    return model, float(correct.mean()), float(correct.all(axis=1).mean()), seconds


def table(rows):
    """The results as a Markdown table, one row per model.

    >>> print(table([("plain GRU", 0.5, 0.0, 3.0)]))
    | model     | per symbol | whole sequence | CPU seconds |
    |:----------|-----------:|---------------:|------------:|
    | plain GRU |      50.0% |           0.0% |           3 |
    """
    header = ["model", "per symbol", "whole sequence", "CPU seconds"]
    cells = [[n, f"{a:.1%}", f"{s:.1%}", f"{t:.0f}"] for n, a, s, t in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(header)]

    def line(row):
        return (
            "| "
            + " | ".join(
                [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:])]
            )
            + " |"
        )

    rule = (
        "|:" + "-" * (widths[0] + 1) + "|" + "|".join("-" * (w + 1) + ":" for w in widths[1:]) + "|"
    )
    return "\n".join([line(header), rule, *(line(r) for r in cells)])


def anti_diagonal_share(weights):
    """The share of output steps i whose largest attention weight is within one position of
    input T - 1 - i, the symbol a reversal must write there, in ``weights`` (batch, output step,
    input position). Within one: the encoder's states at the neighbours hold that symbol too (a
    GRU state has just read it, in one direction or the other), and the model may read it there.

    >>> anti_diagonal_share(np.eye(4)[::-1][None])
    1.0
    >>> anti_diagonal_share(np.eye(4)[None])  # the diagonal: only the two middle steps are near
    0.5
    """
    steps = weights.shape[1]
    return float(np.mean(np.abs(weights.argmax(-1) - np.arange(steps)[::-1]) <= 1))


def draw_heatmap(weights, src, path):
    """Save the attention weights (output step x input position) of one sequence as an image."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.2, 4.6), dpi=110)
    image = ax.imshow(weights, cmap="viridis", vmin=0, vmax=1, aspect="equal")
    ticks = range(0, len(weights), 5)
    ax.set_xticks(ticks)
    ax.set_yticks(ticks)
    ax.set_xlabel("input position j (the symbol read)")
    ax.set_ylabel("output step i (the symbol written)")
    ax.set_title(f"GRU+attention: weights a_ij, reversing T = {len(src)}", fontsize=10)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def build_parser():
    p = argparse.ArgumentParser(
        description=(
            "Train a plain GRU encoder-decoder, a GRU encoder-decoder with additive attention "
            "and a small Transformer to reverse random sequences, and print their test accuracy."
        )
    )
    p.add_argument(
        "--models",
        nargs="+",
        choices=list(NAMES),
        default=list(NAMES),
        help="(default plain attention transformer)",
    )
    p.add_argument(
        "--length", type=int, default=30, help="symbols per sequence, T (default %(default)s)"
    )
    p.add_argument("--symbols", type=int, default=8, help="alphabet size (default %(default)s)")
    p.add_argument("--steps", type=int, default=1000, help="training steps (default %(default)s)")
    p.add_argument("--batch-size", type=int, default=32, help="(default %(default)s)")
    p.add_argument(
        "--embedding-size", type=int, default=16, help="GRU models (default %(default)s)"
    )
    p.add_argument("--hidden-size", type=int, default=32, help="GRU models (default %(default)s)")
    p.add_argument("--d-model", type=int, default=32, help="Transformer (default %(default)s)")
    p.add_argument(
        "--lr", type=float, default=1e-2, help="Adam's learning rate (default %(default)s)"
    )
    p.add_argument(
        "--clip", type=float, default=1.0, help="max gradient norm (default %(default)s)"
    )
    p.add_argument(
        "--test-size", type=int, default=200, help="test sequences (default %(default)s)"
    )
    p.add_argument("--seed", type=int, default=0, help="(default %(default)s)")
    p.add_argument("--heatmap", metavar="FILE", help="draw the attention weights (default: none)")
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.length < 2 or args.symbols < 2:
        raise SystemExit("seq2seq_attention: --length and --symbols must be at least 2")
    if args.hidden_size % 2:  # the bidirectional encoder gives each direction half
        raise SystemExit("seq2seq_attention: --hidden-size must be even")
    rows, total = [], time.process_time()
    for kind in args.models:
        model, per_symbol, whole, seconds = train(kind, args)
        rows.append((NAMES[kind], per_symbol, whole, seconds))
        print(
            f"{NAMES[kind]:<14} test accuracy {per_symbol:.1%} per symbol  ({seconds:.0f} s)",
            flush=True,
        )
        if kind == "attention":  # model.weights: those of the test sequences, just decoded
            share = anti_diagonal_share(model.weights)
            print(f"  its largest weight is within one of input T-1-i at {share:.1%} of the steps")
        if kind == "attention" and args.heatmap:
            src, _ = reversal_batch(
                1, args.length, args.symbols, np.random.default_rng(args.seed + 1)
            )
            with tg.no_grad():
                model.generate(src, args.length)
            draw_heatmap(model.weights[0], src[0], args.heatmap)
            print(f"wrote {args.heatmap}")
    print()
    print(table(rows))
    print(
        f"\nreversing T = {args.length} of {args.symbols} symbols (chance "
        f"{1 / args.symbols:.1%} per symbol) after {args.steps} steps of batch {args.batch_size}; "
        f"total CPU time {time.process_time() - total:.0f} s"
    )
    return 0


if __name__ == "__main__":
    with limit_blas_threads():  # as the CLI does: see tinygrad_seq/_threads.py
        sys.exit(main())
