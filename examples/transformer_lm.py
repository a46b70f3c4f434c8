"""A word-level Transformer language model, trained on the built-in corpus.

The corpus is Python's own standard library (``tinygrad_seq.data.stdlib_corpus``: always there, no
download). It is cut into words (identifiers, numbers, and each punctuation mark on its own), the
``--vocab`` most frequent kept and the rest mapped to ``<unk>``. The model is PyTorch's
word-language-model Transformer in small:

    word embedding * sqrt(d_model) + learned position embedding
    -> nn.TransformerEncoder (causal mask: position t sees words 0..t) -> Linear -> next word

trained with cross-entropy on random windows of the first 90% of the words (Adam). It prints the
held-out perplexity (exp of the mean cross-entropy on the last 10%) before training and as it
goes; a model that knew nothing but the vocabulary's size would score ``--vocab`` + 1.

    python examples/transformer_lm.py    # the defaults: held-out
                                         # perplexity 653.3 -> 40.8 (about 22 s)
    python examples/transformer_lm.py --steps 60 --chars 60000 --eval-every 30
                                      # the quick setting (seconds): perplexity falls several-fold
"""

import argparse
import math
import re
import sys
import time
from collections import Counter

import numpy as np

import tinygrad_seq as tg
import tinygrad_seq.nn.functional as F
from tinygrad_seq import data, nn, optim
from tinygrad_seq._threads import limit_blas_threads

UNK = "<unk>"
WORD = re.compile(r"[A-Za-z_][A-Za-z_0-9]*|[0-9]+|[^\sA-Za-z_0-9]")


def words(text):
    """The text's words: identifiers, numbers, and every other non-space character alone.

    >>> words("def f(x):  return x+1")
    ['def', 'f', '(', 'x', ')', ':', 'return', 'x', '+', '1']
    """
    return WORD.findall(text)


def build_vocab(tokens, size):
    """``<unk>`` then the ``size`` most frequent words (ties: first seen first).

    >>> build_vocab(["a", "b", "a", "c"], 2)
    ['<unk>', 'a', 'b']
    """
    return [UNK] + [word for word, _ in Counter(tokens).most_common(size)]


def encode(tokens, vocab):
    """Word ids, 0 (``<unk>``) for a word outside ``vocab``.

    >>> encode(["a", "z", "b"], ["<unk>", "a", "b"]).tolist()
    [1, 0, 2]
    """
    index = {word: i for i, word in enumerate(vocab)}
    return np.array([index.get(t, 0) for t in tokens], dtype=np.int64)


class TransformerLM(nn.Module):
    """Embeddings, a causal Transformer encoder and a Linear readout over the vocabulary.

    >>> model = TransformerLM(10, d_model=8, nhead=2, layers=1, max_length=6, seed=0)
    >>> model(np.zeros((3, 6), int)).shape
    (3, 6, 10)
    """

    def __init__(self, vocab_size, d_model, nhead, layers, max_length, dropout=0.0, seed=0):
        super().__init__()
        rng = np.random.default_rng(seed)
        self.embed = nn.Embedding(vocab_size, d_model, seed=rng)
        self.position = nn.Embedding(max_length, d_model, seed=rng)
        layer = nn.TransformerEncoderLayer(
            d_model, nhead, 2 * d_model, dropout, batch_first=True, seed=rng
        )
        self.encoder = nn.TransformerEncoder(layer, layers)
        self.out = nn.Linear(d_model, vocab_size, seed=rng)
        self.scale = math.sqrt(d_model)

    def forward(self, ids):
        length = ids.shape[1]
        x = self.embed(ids) * self.scale + self.position(np.arange(length))
        mask = nn.Transformer.generate_square_subsequent_mask(length)
        return self.out(self.encoder(x, mask=mask, is_causal=True))


def perplexity(model, ids, seq_len, windows):
    """exp(mean cross-entropy) over ``windows`` evenly spaced windows of ``ids``."""
    starts = np.linspace(0, len(ids) - seq_len - 1, windows).astype(int)
    x = ids[starts[:, None] + np.arange(seq_len)]
    y = ids[starts[:, None] + np.arange(1, seq_len + 1)]
    with tg.no_grad():
        logits = model(x)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
    return math.exp(loss.item())


def build_parser():
    p = argparse.ArgumentParser(
        description="Train a small word-level Transformer language model on the stdlib corpus."
    )
    p.add_argument("--chars", type=int, default=400_000, help="corpus size (default %(default)s)")
    p.add_argument("--vocab", type=int, default=500, help="words kept (default %(default)s)")
    p.add_argument("--d-model", type=int, default=64, help="(default %(default)s)")
    p.add_argument("--nhead", type=int, default=4, help="attention heads (default %(default)s)")
    p.add_argument("--layers", type=int, default=2, help="encoder layers (default %(default)s)")
    p.add_argument("--dropout", type=float, default=0.0, help="(default %(default)s)")
    p.add_argument("--seq-len", type=int, default=32, help="words per window (default %(default)s)")
    p.add_argument("--batch-size", type=int, default=16, help="(default %(default)s)")
    p.add_argument("--steps", type=int, default=1000, help="training steps (default %(default)s)")
    p.add_argument(
        "--lr", type=float, default=3e-3, help="Adam's learning rate (default %(default)s)"
    )
    p.add_argument(
        "--clip", type=float, default=1.0, help="max gradient norm (default %(default)s)"
    )
    p.add_argument(
        "--eval-every",
        type=int,
        default=250,
        help="steps between evaluations (default %(default)s)",
    )
    p.add_argument(
        "--eval-windows", type=int, default=64, help="held-out windows (default %(default)s)"
    )
    p.add_argument("--seed", type=int, default=0, help="(default %(default)s)")
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    tokens = words(data.stdlib_corpus(max_chars=args.chars))
    vocab = build_vocab(tokens, args.vocab)
    train_ids, val_ids = data.train_val_split(encode(tokens, vocab), val_fraction=0.1)
    if len(val_ids) <= args.seq_len + 1:
        raise SystemExit("transformer_lm: the corpus is too small for --seq-len; raise --chars")
    unknown = float(np.mean(train_ids == 0))
    print(f"{len(tokens)} words, vocabulary {len(vocab)} ({unknown:.1%} of words are <unk>)")
    model = TransformerLM(
        len(vocab), args.d_model, args.nhead, args.layers, args.seq_len, args.dropout, args.seed
    )
    opt = optim.Adam(model.parameters(), lr=args.lr)
    batches = data.char_batches(train_ids, args.batch_size, args.seq_len, rng=args.seed)
    model.eval()
    before = perplexity(model, val_ids, args.seq_len, args.eval_windows)
    print(f"step {0:5d}  held-out perplexity {before:8.1f}", flush=True)
    start, after = time.process_time(), before
    for step in range(1, args.steps + 1):
        model.train()
        x, y = next(batches)
        logits = model(x)
        loss = F.cross_entropy(logits.reshape(-1, len(vocab)), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), args.clip)
        opt.step()
        if step % args.eval_every == 0 or step == args.steps:
            model.eval()
            after = perplexity(model, val_ids, args.seq_len, args.eval_windows)
            print(
                f"step {step:5d}  train loss {loss.item():.3f}  held-out perplexity {after:8.1f}",
                flush=True,
            )
    print(
        f"held-out perplexity: {before:.1f} -> {after:.1f} in {args.steps} steps "
        f"({time.process_time() - start:.0f} s of CPU time)"
    )
    return 0


if __name__ == "__main__":
    with limit_blas_threads():  # as the CLI does: see tinygrad_seq/_threads.py
        sys.exit(main())
