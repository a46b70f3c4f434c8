"""The char-LM commands: ``train`` and ``sample``, and the options, data loading, progress and
evaluation lines that ``demo`` shares with them. Training runs and the rules that protect
checkpoints on disk are ``tinygrad_seq.charlm``'s; this module turns options into their
arguments, and their results and refusals into lines.
"""

import math
import os
import sys

from .validate import (
    INSTALL_DEMO,
    SEED,
    CommandError,
    check_writable,
    count_in,
    fraction,
    non_negative_float,
    positive_float,
)

CHECKPOINT_FILE = "charlm.npz"

# --- train ----------------------------------------------------------------------------------------


def add_train_parser(subparsers):
    p = subparsers.add_parser(
        "train",
        help="train a character-level language model and save a checkpoint",
        description=(
            "Train a character-level RNN/LSTM/GRU language model with truncated backpropagation "
            "through time (Adam, gradient clipping), reporting the held-out loss in bits per "
            "character; save weights, vocabulary, hyperparameters and optimizer state to --out "
            "every --save-every steps, at the end and on Ctrl-C. The weights with the best "
            "held-out loss so far are saved beside it, m.npz -> m_best.npz, at each new best (as "
            "PyTorch's ImageNet example keeps model_best.pth.tar beside checkpoint.pth.tar): on a "
            "small text the held-out loss turns back up while the training loss still falls "
            "(the model learns the text by heart), and a line says so; --patience stops there. "
            "Sample from either with the `sample` command. " + KEEP_CHECKPOINTS
        ),
    )
    add_data_options(p)
    add_model_options(p)
    add_training_options(p)
    p.add_argument(
        "--out",
        default=CHECKPOINT_FILE,
        metavar="CKPT",
        help="checkpoint of the last step to write; the best goes to CKPT_best.npz (%(default)s)",
    )
    p.set_defaults(run=run_train)


def run_train(args):
    from .. import charlm

    best_path = charlm.best_checkpoint_path(args.out)
    check_writable(args.out, "--out")
    check_writable(best_path, "--out's best checkpoint")
    floor = checkpoint_floor_or_error(args.out, args.steps, args.overwrite, "--out")
    _check_replaceable(best_path, args.overwrite)
    vocab, train_ids, val_ids = load_data(args)
    model, config = new_model(args, len(vocab)), train_config(args)
    result = fit_with_progress(
        model, vocab, train_ids, val_ids, config, args.out, args.save_every, floor, best_path
    )
    if result.interrupted:
        return 130
    if result.stopped_early:
        print(
            f"stopped early at step {result.step}: the held-out loss has not improved for "
            f"--patience {args.patience} evaluations"
        )
    last, best = result.evals[-1], result.best
    print(f"held-out after {result.step} steps: {last['bpc']:.3f} bits per character")
    print(f"best held-out: {best['bpc']:.3f} bits per character, at step {best['step']}")
    print(f"saved {args.out} (the last step, optimizer state included) and {best_path} (the best)")
    print(f"sample from the best: python -m tinygrad_seq sample --checkpoint {best_path}")
    return 0


def _check_replaceable(path, overwrite):
    """``charlm.check_replaceable`` as a CommandError: the best checkpoint must not replace a file
    of the user's that happens to have its name."""
    from .. import charlm

    try:
        charlm.check_replaceable(path, overwrite)
    except charlm.ExistingCheckpoint:
        raise CommandError(
            f"{path} (where --out's best checkpoint goes) exists and is not a checkpoint this "
            "command can read; pass --overwrite to replace it, or choose another --out"
        ) from None


# --- sample ---------------------------------------------------------------------------------------


def add_sample_parser(subparsers):
    p = subparsers.add_parser(
        "sample",
        help="generate text from a trained checkpoint",
        description="Continue --prompt with text generated one character at a time.",
    )
    p.add_argument(
        "--checkpoint", required=True, metavar="CKPT", help="written by `train` or `demo`"
    )
    add_sampling_options(p, default="a newline")
    p.add_argument("--seed", type=SEED, default=0, help="seed of the sampling (default 0)")
    p.set_defaults(run=run_sample)


def run_sample(args):
    from .. import charlm

    ckpt = _read_checkpoint(args.checkpoint, "--checkpoint")
    try:
        prompt = choose_prompt(args.prompt, ckpt.vocab, preferred="\n")
        text = charlm.sample(
            ckpt.model, ckpt.vocab, prompt, args.length, args.temperature, args.seed
        )
    except (OSError, ValueError) as e:
        raise CommandError(str(e)) from None
    print(text)
    return 0


def _read_checkpoint(path, option):
    """``charlm.load_checkpoint(path)``; what stops it as a CommandError naming ``option`` and
    ``path`` in the user's words (a folder, no such file), not as an OS error number."""
    from .. import charlm

    if os.path.isdir(path):
        raise CommandError(f"{option} {path}: is a folder; give the checkpoint file inside it")
    if not os.path.exists(path):
        raise CommandError(
            f"{option} {path}: no such file; `train --out` or `demo --out` writes checkpoints"
        )
    try:
        return charlm.load_checkpoint(path)
    except ValueError as e:
        raise CommandError(str(e)) from None
    except OSError as e:
        raise CommandError(f"{option} {path}: cannot read it: {e.strerror or e}") from None


def choose_prompt(prompt, vocab, preferred):
    """The user's prompt; else ``preferred`` if the vocabulary can spell it; else its first char."""
    if prompt is not None:
        return prompt
    return preferred if all(c in vocab for c in preferred) else vocab.chars[0]


# --- shared by demo, train and sample -------------------------------------------------------------


def add_data_options(p):
    p.add_argument(
        "--text",
        metavar="FILE",
        help="UTF-8 text to learn (default: the Python standard library's source, no download)",
    )
    p.add_argument(
        "--chars",
        type=count_in(1, 10**9),
        default=1_000_000,
        metavar="N",
        help="use at most N (1000000)",
    )


def add_model_options(p):
    p.add_argument(
        "--model", choices=("lstm", "gru", "rnn"), default="lstm", help="recurrent layer (lstm)"
    )
    p.add_argument(
        "--layers", type=count_in(1, 16), default=1, metavar="N", help="num_layers, to 16 (1)"
    )
    p.add_argument(
        "--hidden", type=count_in(1, 4096), default=128, metavar="N", help="hidden_size (128)"
    )
    p.add_argument(
        "--emb", type=count_in(1, 4096), default=32, metavar="N", help="embedding_dim (32)"
    )
    p.add_argument(
        "--dropout", type=fraction, default=0.0, metavar="P", help="on the recurrent output (0)"
    )


def add_training_options(p):
    p.add_argument(
        "--steps", type=count_in(1, 10**7), default=1500, metavar="N", help="updates (1500)"
    )
    p.add_argument(
        "--batch", type=count_in(1, 4096), default=32, metavar="N", help="sequences per batch (32)"
    )
    p.add_argument(
        "--seq-len",
        type=count_in(1, 10_000),
        default=32,
        metavar="N",
        help="characters per window (32)",
    )
    p.add_argument(
        "--lr", type=positive_float, default=0.01, help="Adam's lr, cosine-decayed (0.01)"
    )
    p.add_argument(
        "--clip", type=non_negative_float, default=1.0, help="max gradient norm, 0: off (1.0)"
    )
    p.add_argument(
        "--eval-every",
        type=count_in(1, 10**7),
        default=100,
        metavar="N",
        help="evaluate every N steps (100)",
    )
    p.add_argument(
        "--eval-chars",
        type=count_in(1, 10**9),
        default=20_000,
        metavar="N",
        help="held-out chars scored, and as many of the training text (20000)",
    )
    p.add_argument("--seed", type=SEED, default=0, help="of the weights and samples (0)")
    p.add_argument(
        "--save-every",
        type=count_in(0, 10**7),
        default=100,
        metavar="N",
        help="also save the checkpoint every N steps, so that a run that dies keeps its "
        "progress; 0: only at the end and on Ctrl-C (100)",
    )
    p.add_argument(
        "--patience",
        type=count_in(1, 10**6),
        metavar="N",
        help="stop early once N evaluations in a row have not improved on the best held-out "
        "loss (default: train all --steps)",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing checkpoint even if it has more steps than this run",
    )


# At 0.6 the demo's model ran into a line of 30+ spaces in about a third of its samples, at 0.7
# in about a sixth (12 seeds, 300 characters): lower temperatures favour the likeliest character,
# and inside indentation that is one more space.
SAMPLING_TEMPERATURE = 0.7


def add_sampling_options(p, default):
    p.add_argument("--prompt", help=f"text to continue (default {default})")
    p.add_argument(
        "--length", type=count_in(0, 10**6), default=300, metavar="N", help="characters (300)"
    )
    p.add_argument(
        "--temperature",
        type=non_negative_float,
        default=SAMPLING_TEMPERATURE,
        metavar="T",
        help=f"0: greedy; tiny values approach greedy ({SAMPLING_TEMPERATURE})",
    )


def load_data(args):
    """(vocab, train ids, held-out ids) from --text or the stdlib corpus, checked to be usable."""
    import math

    from .. import charlm

    try:
        vocab, train_ids, val_ids = charlm.prepare(charlm.load_text(args.text, args.chars))
    except (OSError, ValueError) as e:
        raise CommandError(str(e)) from None
    needed = args.batch * args.seq_len + 1
    if len(train_ids) < needed or len(val_ids) < 2:
        raise CommandError(
            f"the training text has {len(train_ids)} characters, too few for one batch of "
            f"--batch {args.batch} x --seq-len {args.seq_len} (needs {needed}); use a longer "
            "--text or smaller --batch / --seq-len"
        )
    source = args.text or "the Python standard library's own source code"
    print(
        f"text: {source}: {len(train_ids) + len(val_ids):,} characters, {len(vocab)} distinct "
        f"(guessing uniformly scores log2({len(vocab)}) = {math.log2(len(vocab)):.2f} bits per "
        f"character); {len(val_ids):,} held out"
    )
    return vocab, train_ids, val_ids


def new_model(args, vocab_size):
    from .. import charlm

    model = charlm.CharLM(
        vocab_size, args.emb, args.hidden, args.layers, args.model, args.dropout, seed=args.seed
    )
    print(f"model: {model.kind.upper()} {args.layers}x{args.hidden}, {_count(model):,} parameters")
    return model


def _count(model):
    return sum(p.numel() for p in model.parameters())


def train_config(args):
    from .. import charlm

    return charlm.TrainConfig(
        steps=args.steps,
        batch_size=args.batch,
        seq_len=args.seq_len,
        lr=args.lr,
        clip=args.clip or None,
        eval_every=args.eval_every,
        eval_chars=args.eval_chars,
        patience=args.patience,
    )


def say_evaluation_and_sample(model, vocab, val_ids, config, args, when):
    """Print the held-out loss and a sample (``charlm.evaluate_and_sample``); return the scores."""
    from .. import charlm

    try:
        scores, text = charlm.evaluate_and_sample(
            model, vocab, val_ids, config, args.prompt, args.length, args.temperature, args.seed
        )
    except ValueError as e:  # a prompt character the text never contains
        raise CommandError(f"--prompt: {e}") from None
    print(f"\nheld-out loss {when}: {scores['loss']:.3f} nats = {scores['bpc']:.2f} bits per char")
    rule = "-" * 24
    print(f"{rule} sample {when} (temperature {args.temperature:g}) {rule}\n{text}\n{rule * 3}")
    return scores


def fit_with_progress(
    model, vocab, train_ids, val_ids, config, path, save_every, floor, best_path=None
):
    """``charlm.fit`` (which saves the checkpoints) with a progress bar, a line per evaluation,
    and a word on what was saved when it stops short."""
    from .. import charlm

    print(_evaluations_said(config))
    progress = _Progress(config.steps, config.eval_every)
    seen = []  # the evaluations, for their lines

    def report(step, loss, scores):
        progress(step, loss, scores)
        if scores is not None:
            progress.write(_evaluation_line(scores, seen))

    try:
        result, saved = charlm.fit(
            model,
            vocab,
            train_ids,
            val_ids,
            config,
            path,
            save_every=save_every,
            floor=floor,
            best_path=best_path,
            callback=report,
        )
    finally:
        progress.close()
    if result.stopped_early and saved != result.step:
        raise CommandError(
            f"stopped early at step {result.step} (--patience {config.patience}), short of the "
            f"{floor} steps of the checkpoint already at {path}: nothing saved, it is kept; "
            "--overwrite replaces it"
        )
    if not result.interrupted:
        return result
    if saved == result.step:
        print(f"\ninterrupted at step {result.step}: saved the model to {path}", file=sys.stderr)
    else:
        kept = f"{path} keeps its checkpoint of {floor} steps" if floor else f"{path} not written"
        print(f"\ninterrupted at step {result.step}: nothing saved, {kept}", file=sys.stderr)
    return result


def _evaluation_line(scores, earlier):
    """One line for an evaluation: the held-out and training text's bits per character, both of
    the current weights scored the same way on as many characters (``charlm.train``'s
    "train_text_bpc": the mean loss of the steps since the last evaluation was no match, it was
    always higher), and a warning when the held-out loss rose since then while the training
    text's fell and is now below it: the model is learning its training text by heart.
    ``earlier`` collects the evaluations seen."""
    bpc = {e["step"]: (e["bpc"], e["train_text_bpc"]) for e in [*earlier, scores]}
    best = min(bpc, key=lambda step: bpc[step][0])
    line = f"step {scores['step']}: held-out {scores['bpc']:.3f} bpc " + (
        "(best so far)" if scores["best"] else f"(best {bpc[best][0]:.3f} at step {best})"
    )
    line += f", training text {bpc[scores['step']][1]:.3f} bpc"
    if earlier:
        (held_before, train_before), (held, train) = bpc[earlier[-1]["step"]], bpc[scores["step"]]
        if held > held_before and train < train_before and train < held:
            line += (
                f"\noverfitting: held-out got worse ({held_before:.3f} -> {held:.3f} bpc) while "
                f"the training text improved ({train_before:.3f} -> {train:.3f} bpc, better than "
                f"held-out); the best weights so far are those of step {best}"
            )
    earlier.append(scores)
    return line


def _evaluations_said(config):
    """The line before training that says what each evaluation line measures."""
    return (
        f"every {config.eval_every} steps: bits per character (bpc) of the current weights on "
        "the held-out text and, scored the same way, on as many characters of the training text "
        "(those just before it); training text well below held-out: the model is learning its "
        "text by heart"
    )


KEEP_CHECKPOINTS = (
    "An existing checkpoint is only replaced by one with at least as many completed steps (a "
    "run that cannot reach them stops at once; one stopped early short of them saves nothing), "
    "unless --overwrite is given; a run interrupted before its first step completes saves "
    "nothing."
)


def checkpoint_floor_or_error(path, steps, overwrite, option):
    """``charlm.checkpoint_floor`` (the steps this run must reach before replacing the checkpoint
    at ``path``), its refusals as CommandErrors naming ``option``, and a note if it must wait."""
    from .. import charlm

    try:
        existing = charlm.checkpoint_floor(path, steps, overwrite)
    except charlm.ExistingCheckpoint as e:
        if e.steps is None:
            raise CommandError(
                f"{option} {path} exists and is not a checkpoint this command can read; pass "
                "--overwrite to replace it, or choose another path"
            ) from None
        raise CommandError(
            f"{option} {path} holds a checkpoint trained for {e.steps} steps, more than --steps "
            f"{steps} reaches; pass --overwrite to replace it, or choose another path"
        ) from None
    if existing:
        print(
            f"note: {path} holds a checkpoint trained for {existing} steps; this run replaces it "
            "once it has completed as many (--overwrite: at its first save)"
        )
    return existing


class _Progress:
    """Progress over the training steps, in bits per character as the evaluation lines are. On
    a terminal, a tqdm bar; in a log (stdout or stderr not a terminal: piped, redirected) or
    without tqdm, a plain line every tenth of the way, unless the evaluation lines already come
    at least that often (a bar redrawn with \\r would fill a log with partial lines)."""

    def __init__(self, total, eval_every):
        self.total, self.every, self.bpc = total, max(1, total // 10), None
        self.plain_lines = eval_every > self.every
        self.bar = None
        if _on_a_terminal():
            try:
                from tqdm import tqdm
            except ImportError:
                print(f"(no progress bar: tqdm is not installed; {INSTALL_DEMO})")
            else:
                self.bar = tqdm(total=total, desc="training", unit="step", dynamic_ncols=True)

    def __call__(self, step, loss, evaluation):
        if evaluation is not None:
            self.bpc = evaluation["bpc"]
        info = f"this step {loss / math.log(2):.2f} bpc"
        info += "" if self.bpc is None else f", held-out {self.bpc:.2f} bpc"
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix_str(info, refresh=False)
        elif self.plain_lines and (step % self.every == 0 or step == self.total):
            print(f"step {step}/{self.total}: {info}", flush=True)

    def write(self, text):
        """Print ``text`` above the bar (or as is, without one)."""
        if self.bar is not None:
            self.bar.write(text)
        else:
            print(text, flush=True)

    def close(self):
        if self.bar is not None:
            self.bar.close()


def _on_a_terminal():
    """True if both stdout and stderr (where tqdm draws) are terminals."""
    try:
        return sys.stdout.isatty() and sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced by an object without isatty, or closed
        return False
