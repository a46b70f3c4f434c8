"""The ``demo`` command: train a char-LM, sample from it, and draw its graph, the gradient flow
and the explorer page into one folder.
"""

import os

from .charlm import (
    CHECKPOINT_FILE,
    KEEP_CHECKPOINTS,
    add_data_options,
    add_model_options,
    add_sampling_options,
    add_training_options,
    checkpoint_floor_or_error,
    choose_prompt,
    fit_with_progress,
    load_data,
    new_model,
    say_evaluation_and_sample,
    train_config,
)
from .drawing import FLOW_FILE, draw_unrolled, unrolled_loss, write_flow
from .validate import INSTALL_DEMO, INSTALL_GRAPHVIZ, CommandError, check_writable, has_graphviz

GRAPH_FILE, EXPLORER_FILE = "lstm_graph.svg", "lstm_explorer.html"
# The demo's sample starts inside a method: from "def " alone the untrained state gives the model
# little to go on, and it often ran into a line of spaces.
DEMO_PROMPT = "    def __init__(self"


def add_demo_parser(subparsers):
    p = subparsers.add_parser(
        "demo",
        help="train a character-level LSTM (about 30 s), draw its graph and gradient flow",
        description=(
            "Train a character-level LSTM language model on the Python standard library's own "
            "source code (no download; --text FILE for any other text), printing generated text "
            "and the held-out loss before and after; then write the graph of a 3-step LSTM, a "
            "gradient-flow plot (tanh RNN vs LSTM), a page that steps through backprop in a "
            "6-step LSTM (open it in a browser) and the model's checkpoint into --out. "
            "With the defaults it takes about 30 seconds on a quiet 2-core machine, start to end. "
            "Ctrl-C while training saves the checkpoint and stops. " + KEEP_CHECKPOINTS
        ),
    )
    add_data_options(p)
    add_model_options(p)
    add_training_options(p)
    add_sampling_options(p, default=f"{DEMO_PROMPT!r} (if the text has those characters)")
    p.add_argument("--out", default="tinygrad_seq_demo", metavar="DIR", help="(%(default)s)")
    p.set_defaults(run=run_demo)


def run_demo(args):
    import time

    started = time.perf_counter()
    try:
        os.makedirs(args.out, exist_ok=True)
    except OSError as e:
        raise CommandError(f"--out {args.out}: cannot make this folder: {e.strerror}") from None
    checkpoint = os.path.join(args.out, CHECKPOINT_FILE)
    graph_text = os.path.splitext(GRAPH_FILE)[0] + ".gv"
    for name in (CHECKPOINT_FILE, GRAPH_FILE, graph_text, FLOW_FILE, EXPLORER_FILE):
        check_writable(os.path.join(args.out, name), "--out")
    floor = checkpoint_floor_or_error(checkpoint, args.steps, args.overwrite, "--out")
    like = "Python" if args.text is None else f"like {os.path.basename(args.text)}"
    print(f"1. A character-level {args.model.upper()} learns to write {like}")
    vocab, train_ids, val_ids = load_data(args)
    args.prompt = choose_prompt(args.prompt, vocab, preferred=DEMO_PROMPT)
    model, config = new_model(args, len(vocab)), train_config(args)
    before = say_evaluation_and_sample(model, vocab, val_ids, config, args, "before training")
    result = fit_with_progress(
        model, vocab, train_ids, val_ids, config, checkpoint, args.save_every, floor
    )
    if result.interrupted:
        return 130
    after = say_evaluation_and_sample(model, vocab, val_ids, config, args, "after training")
    print("\n2. Pictures of what happens inside")
    graph = explorer = None
    if has_graphviz():
        graph = _write_demo_graph(args.out)
    else:
        print(
            f"the graphviz Python package is not installed: no graph, no explorer page; get it "
            f"with: {INSTALL_DEMO}"
        )
    flow = write_flow(os.path.join(args.out, FLOW_FILE), steps=100, seed=args.seed)
    if graph is not None:
        explorer = _write_demo_explorer(os.path.join(args.out, EXPLORER_FILE), args.seed)
    print(f"\nSummary ({time.perf_counter() - started:.1f} s)")
    print(
        f"  held-out: {before['bpc']:.2f} -> {after['bpc']:.2f} bits per character "
        f"({before['loss']:.3f} -> {after['loss']:.3f} nats) in {result.step} steps"
    )
    _print_files(args.out, checkpoint, graph, flow, explorer, args.text is None)
    return 0


def _write_demo_graph(folder):
    """Every operation of a 3-step LSTM with its gradients, as SVG (or DOT text without `dot`)."""
    from .. import viz

    graph = draw_unrolled("lstm", dict(steps=3, input_size=2, hidden_size=3), show_grad=True)
    path = os.path.join(folder, GRAPH_FILE)
    try:
        viz.render(graph, path)
        print(f"wrote {path}")
        return path
    except viz.GraphvizNotFoundError:
        source = viz.render(graph, os.path.splitext(path)[0] + ".gv")
        print(
            f"Graphviz's `dot` is not installed: saved the graph as DOT text, {source}; to draw "
            f"it install Graphviz ({INSTALL_GRAPHVIZ}) and run: dot -Tsvg {source} -o {path}"
        )
        return source


def _write_demo_explorer(path, seed):
    """The page that steps through backprop in a 6-step LSTM (``viz.explore``), op by op."""
    import warnings

    from .. import keep_values, viz

    with keep_values():  # every node keeps its value, and the layer records op by op
        loss = unrolled_loss("lstm", steps=6, input_size=2, hidden_size=3, seed=seed)
    loss.backward(keep_grads=True)
    with warnings.catch_warnings():  # without `dot`: said once, by the graph above
        warnings.simplefilter("ignore")
        viz.explore(loss, path)
    print(f"wrote {path}")
    return path


def _print_files(folder, checkpoint, graph, flow, explorer, on_python):
    print(f"  files in {folder}{os.sep}")
    print(f"    {os.path.basename(checkpoint):<20} the trained model; more text from it:")
    prompt = ' --prompt "class "' if on_python else ""
    print(f"{'':27}python -m tinygrad_seq sample --checkpoint {checkpoint}{prompt}")
    if graph is not None:
        what = "open it in a browser" if graph.endswith(".svg") else "DOT text"
        print(f"    {os.path.basename(graph):<20} every operation of a 3-step LSTM ({what})")
    if flow is not None:
        print(f"    {os.path.basename(flow):<20} how the gradient fades through time")
    if explorer is not None:
        print(f"    {os.path.basename(explorer):<20} step through backprop (open in a browser)")
    print(
        "  read next: docs/autodiff.md (how backward works), docs/lstm.md (the LSTM, gate by "
        "gate), examples/ (examples/char_lm.py has every knob of this demo)"
    )
