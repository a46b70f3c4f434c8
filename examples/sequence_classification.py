"""Many-to-one sequence classification: handwritten digits read one pixel row at a time.

scikit-learn ships 1,797 8x8 images of handwritten digits (no download). Read row by row, an image
is a sequence of 8 steps of 8 features; an LSTM (or GRU, or tanh RNN) reads the rows and a Linear
layer classifies the last step's hidden state into the 10 digits, trained with cross-entropy and
Adam. The model sees the image only through its memory of the rows so far.

    python examples/sequence_classification.py                  # LSTM: 97% test accuracy, ~2 s
    python examples/sequence_classification.py --model gru --epochs 5
    python examples/sequence_classification.py --epochs 2       # quick: well above chance already

Needs scikit-learn for the data (``pip install scikit-learn``, or ``pip install -e ".[test]"``).
"""

import argparse
import sys
import time

import numpy as np

import tinygrad_seq as tg
import tinygrad_seq.nn.functional as F
from tinygrad_seq import data, nn, optim
from tinygrad_seq._threads import limit_blas_threads

LAYERS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}


class SequenceClassifier(nn.Module):
    """A recurrent layer over the sequence, a Linear layer on its final hidden state.

    >>> import numpy as np
    >>> model = SequenceClassifier("lstm", input_size=8, hidden_size=16, num_classes=10, seed=0)
    >>> model(np.zeros((5, 8, 8), dtype=np.float32)).shape   # (batch, steps, features) -> logits
    (5, 10)
    """

    def __init__(self, kind, input_size, hidden_size, num_classes, seed=0):
        super().__init__()
        rng = np.random.default_rng(seed)
        self.rnn = LAYERS[kind](input_size, hidden_size, batch_first=True, seed=rng)
        self.head = nn.Linear(hidden_size, num_classes, seed=rng)

    def forward(self, x):
        _, state = self.rnn(x)  # many-to-one: only the state after the last row is classified
        h_n = state[0] if isinstance(state, tuple) else state  # the LSTM returns (h_n, c_n)
        return self.head(h_n[-1])  # h_n is (num_layers, batch, hidden): the top layer's


def split(x, y, test_fraction, rng):
    """A random train/test split: ((x_train, y_train), (x_test, y_test)).

    >>> import numpy as np
    >>> (a, b), (c, d) = split(np.arange(10), np.arange(10), 0.3, np.random.default_rng(0))
    >>> len(a), len(c), sorted(np.concatenate([a, c]).tolist()) == list(range(10))
    (7, 3, True)
    """
    order = rng.permutation(len(x))
    n_test = int(round(len(x) * test_fraction))
    test, train = order[:n_test], order[n_test:]
    return (x[train], y[train]), (x[test], y[test])


def accuracy(model, x, y):
    """Fraction of ``x`` classified as ``y`` (no graph is recorded)."""
    with tg.no_grad():
        return float(np.mean(model(x).argmax(axis=-1).numpy() == y))


def build_parser():
    p = argparse.ArgumentParser(
        description=(
            "Classify scikit-learn's 8x8 digits read row by row (8 steps of 8 pixels) with a "
            "recurrent layer and a Linear layer on the last step; prints the test accuracy."
        )
    )
    p.add_argument("--model", choices=list(LAYERS), default="lstm", help="(default %(default)s)")
    p.add_argument("--hidden-size", type=int, default=64, help="(default %(default)s)")
    p.add_argument("--epochs", type=int, default=8, help="(default %(default)s)")
    p.add_argument("--batch-size", type=int, default=32, help="(default %(default)s)")
    p.add_argument(
        "--lr", type=float, default=1e-2, help="Adam's learning rate (default %(default)s)"
    )
    p.add_argument(
        "--clip", type=float, default=1.0, help="max gradient norm (default %(default)s)"
    )
    p.add_argument(
        "--test-fraction",
        type=float,
        default=0.25,
        help="of the images, held out (default %(default)s)",
    )
    p.add_argument("--limit", type=int, help="use only the first N images (default: all 1797)")
    p.add_argument("--seed", type=int, default=0, help="(default %(default)s)")
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        x, y = data.digits_sequences()
    except ImportError as e:
        print(f"sequence_classification: {e}", file=sys.stderr)
        return 1
    if args.limit:
        x, y = x[: args.limit], y[: args.limit]
    rng = np.random.default_rng(args.seed)
    (x_train, y_train), (x_test, y_test) = split(x, y, args.test_fraction, rng)
    print(
        f"{len(x_train)} training and {len(x_test)} test images, each {x.shape[1]} rows of "
        f"{x.shape[2]} pixels; model: {args.model.upper()} with hidden size {args.hidden_size}"
    )
    model = SequenceClassifier(args.model, x.shape[2], args.hidden_size, 10, seed=rng)
    opt = optim.Adam(model.parameters(), lr=args.lr)
    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        order, total = rng.permutation(len(x_train)), 0.0
        for i in range(0, len(order), args.batch_size):
            batch = order[i : i + args.batch_size]
            loss = F.cross_entropy(model(x_train[batch]), y_train[batch])
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), args.clip)
            opt.step()
            total += loss.item() * len(batch)
        print(
            f"epoch {epoch:2d}  train loss {total / len(order):.3f}  "
            f"test accuracy {accuracy(model, x_test, y_test):.1%}",
            flush=True,
        )
    print(
        f"test accuracy: {accuracy(model, x_test, y_test):.1%} "
        f"({time.perf_counter() - start:.1f} s of training)"
    )
    return 0


if __name__ == "__main__":
    with limit_blas_threads():  # as the CLI does: see tinygrad_seq/_threads.py
        sys.exit(main())
