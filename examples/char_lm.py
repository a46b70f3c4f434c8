"""A character-level language model with every knob: train it, checkpoint it, sample from it.

The model reads text one character at a time and predicts the next one:

    characters -> Embedding -> LSTM (or GRU, or tanh RNN; 1+ layers) -> Dropout -> Linear -> logits

Training walks the text in contiguous windows (truncated backpropagation through time): the
recurrent state is carried from one window to the next, and the gradient is cut every --bptt
characters. The held-out loss is reported in bits per character: guessing uniformly among V
characters scores log2(V), about 6.6 for Python source.

The work is done by tinygrad_seq.charlm (CharLM, train, evaluate, sample, save_checkpoint,
load_checkpoint); this script only reads options and reports.

    python examples/char_lm.py                                   # ~30 s on 2 cores, 1.48 bpc
    python examples/char_lm.py --text poems.txt --model gru --layers 2 --dropout 0.1 \\
        --hidden 256 --seq-len 64 --bptt 32 --steps 3000 --checkpoint poems.npz
    python examples/char_lm.py --resume poems.npz --steps 5000   # continue to step 5000
    python examples/char_lm.py --resume poems.npz --steps 1 --prompt "The " --temperature 0.5
    python examples/char_lm.py --chars 20000 --hidden 32 --emb 16 --batch 8 --seq-len 16 \
        --steps 100 --eval-every 50     # quick: held-out bpc 2 bits below guessing, in seconds

Ctrl-C saves the checkpoint; --resume continues from it (model, optimizer, step).
"""

import argparse
import dataclasses
import math
import sys

from tinygrad_seq import charlm
from tinygrad_seq._threads import limit_blas_threads


def build_parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    data = p.add_argument_group("data")
    data.add_argument("--text", help="a UTF-8 file (default: the Python stdlib's source code)")
    data.add_argument(
        "--chars",
        type=int,
        default=1_000_000,
        help="at most this many characters (default %(default)s)",
    )
    model = p.add_argument_group("model")
    model.add_argument(
        "--model",
        choices=sorted(charlm.KINDS),
        default="lstm",
        help="recurrent layer (default %(default)s)",
    )
    model.add_argument(
        "--layers", type=int, default=1, help="stacked recurrent layers (default %(default)s)"
    )
    model.add_argument("--hidden", type=int, default=128, help="hidden_size (default %(default)s)")
    model.add_argument("--emb", type=int, default=32, help="embedding_dim (default %(default)s)")
    model.add_argument(
        "--dropout", type=float, default=0.0, help="on the recurrent output (default %(default)s)"
    )
    fit = p.add_argument_group("training")
    fit.add_argument(
        "--steps",
        type=int,
        default=1500,
        help="total updates, also when resuming (default %(default)s)",
    )
    fit.add_argument(
        "--batch", type=int, default=32, help="sequences per batch (default %(default)s)"
    )
    fit.add_argument(
        "--seq-len", type=int, default=32, help="characters per update (default %(default)s)"
    )
    fit.add_argument("--bptt", type=int, help="gradient horizon in characters (default seq-len)")
    fit.add_argument(
        "--optimizer", choices=charlm.OPTIMIZERS, default="adam", help="(default %(default)s)"
    )
    fit.add_argument("--lr", type=float, default=0.01, help="learning rate (default %(default)s)")
    fit.add_argument(
        "--schedule",
        choices=charlm.SCHEDULES,
        default="cosine",
        help="of the lr (default %(default)s)",
    )
    fit.add_argument("--weight-decay", type=float, default=0.0, help="(default %(default)s)")
    fit.add_argument(
        "--clip", type=float, default=1.0, help="max gradient norm, 0: off (default %(default)s)"
    )
    fit.add_argument(
        "--eval-every",
        type=int,
        default=100,
        help="held-out evaluation period in steps (default %(default)s)",
    )
    fit.add_argument(
        "--seed",
        type=int,
        default=0,
        help="of the weights, dropout and sampling (default %(default)s)",
    )
    io = p.add_argument_group("checkpoints and sampling")
    io.add_argument(
        "--checkpoint", default="char_lm.npz", help="where to save the model (default %(default)s)"
    )
    io.add_argument("--resume", help="continue training this checkpoint (default: start afresh)")
    io.add_argument(
        "--prompt",
        default="    def __init__(self",
        help="text the sample continues (default %(default)r)",
    )
    io.add_argument(
        "--length", type=int, default=300, help="characters to generate (default %(default)s)"
    )
    io.add_argument(
        "--temperature",
        type=float,
        default=0.7,
        help="0: always the likeliest (default %(default)s)",
    )
    return p


def parse_args(argv):
    return build_parser().parse_args(argv)


def build(args, text):
    """(model, vocab, train ids, held-out ids, config, optimizer, first step): fresh, or as the
    --resume checkpoint left them (its model, vocabulary, training options and optimizer)."""
    if args.resume:
        ckpt = charlm.load_checkpoint(args.resume)
        vocab, train_ids, val_ids = charlm.prepare(text, vocab=ckpt.vocab)
        config = dataclasses.replace(ckpt.config, steps=args.steps)
        print(f"resuming {args.resume} at step {ckpt.step}")
        return ckpt.model, vocab, train_ids, val_ids, config, ckpt.optimizer, ckpt.step
    vocab, train_ids, val_ids = charlm.prepare(text)
    model = charlm.CharLM(
        len(vocab), args.emb, args.hidden, args.layers, args.model, args.dropout, seed=args.seed
    )
    config = charlm.TrainConfig(
        steps=args.steps,
        batch_size=args.batch,
        seq_len=args.seq_len,
        bptt=args.bptt,
        lr=args.lr,
        schedule=args.schedule,
        clip=args.clip or None,
        optimizer=args.optimizer,
        weight_decay=args.weight_decay,
        eval_every=args.eval_every,
    )
    return model, vocab, train_ids, val_ids, config, None, 0


def report(step, loss, evaluation):
    """Called after every training step: print the held-out score when there is one."""
    if evaluation is not None:
        print(f"step {step:5d}  train loss {loss:.3f}  held-out {evaluation['bpc']:.3f} bpc")


def main(argv=None):
    args = parse_args(argv)
    text = charlm.load_text(args.text, args.chars)
    model, vocab, train_ids, val_ids, config, optimizer, start = build(args, text)
    print(model)
    print(f"{len(vocab)} characters: guessing scores {math.log2(len(vocab)):.2f} bits per char")
    result = charlm.train(
        model, train_ids, val_ids, config, optimizer=optimizer, start_step=start, callback=report
    )
    charlm.save_checkpoint(
        args.checkpoint, model, vocab, result.optimizer, step=result.step, config=config
    )
    print(f"saved step {result.step} to {args.checkpoint}")
    if result.interrupted:
        print(f"interrupted: continue with --resume {args.checkpoint}")
        return 130
    print(f"--- sample (temperature {args.temperature}) ---")
    print(charlm.sample(model, vocab, args.prompt, args.length, args.temperature, args.seed))
    return 0


if __name__ == "__main__":
    with limit_blas_threads():  # as the CLI does: see tinygrad_seq/_threads.py
        sys.exit(main())
