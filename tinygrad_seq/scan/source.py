"""Writing a recorded step out as Python: a forward loop and a backward loop over the steps.

For an LSTM step the backward reads, in part (``c`` a VJP's result, ``g`` a summed gradient):

    c1 = V14_1(g_out0, None, v9, v13)      # the mul VJPs of h = o * tanh(c)
    c2 = V13_0(c1, v13, ph13_0)            # the tanh VJP
    g18 = g_out1 + c2                      # c's gradient: from h, and carried from step t+1
    ...
    g7 = np.concatenate((c16.value, c15.value, c14.value, c13.value), axis=1)

Each ``V..`` is a VJP of ``ops``; ``ph..`` a ``Placeholder`` for an input no VJP reads. How to add
a gradient up is decided once, when writing, from the recorded primitives and shapes (``_kind``).
"""

import numpy as np

from ..engine import unbroadcast
from ..ops import Placeholder, ProductGrad, _is_basic_index, getitem, linear, matmul


def write(program):
    """(source, namespace) of ``program``'s four loops: ``run_infer`` and ``run_forward``,
    ``run_backward`` and ``run_backward_keeping`` (which also keeps every op's gradient)."""
    return _Writer(program).source()


class XRows:
    """A weight's gradient ``grad_x[t]^T @ b``: the product a VJP returned had x_t's gradient itself
    as its left factor (a linear layer's input and weight gradients come from one ``g``), and that
    gradient is already a row of ``grad_x``. The weight's GEMM then reads grad_x as it lies,
    without another copy of every step's rows. ``from_state``: ``b`` is this step's input state
    (the first), i.e. the previous step's output, which the scan's result holds as a row too."""

    __slots__ = ("t", "b", "from_state")

    def __init__(self, t, b, from_state):
        self.t, self.b, self.from_state = t, b, from_state


class _Writer:
    def __init__(self, program):
        self.p = program
        self.namespace = {
            "np": np,
            "unbroadcast": unbroadcast,
            "ProductGrad": ProductGrad,
            "XRows": XRows,
        }
        for c, value in enumerate(program.constants):
            self.namespace[f"k{c}"] = value

    def var(self, ref):
        if isinstance(ref, tuple):
            return f"k{ref[1]}"
        return f"a{ref}" if ref < self.p.n_inputs else f"v{ref - self.p.n_inputs}"

    def call(self, j, fn, args):
        """``fn(args, name=param, ...)`` with instruction j's params bound in the namespace."""
        kwargs = []
        for name, value in self.p.instructions[j][2].items():
            self.namespace[f"p{j}_{name}"] = value
            kwargs.append(f"{name}=p{j}_{name}")
        return f"{fn}({', '.join(list(args) + kwargs)})"

    def source(self):
        p = self.p
        states = [f"a{1 + k}" for k in range(p.n_states)]
        invariants = [f"a{r}" for r in range(1 + p.n_states, p.n_inputs)]
        forward = []
        for j, (prim, refs, *_) in enumerate(p.instructions):
            self.namespace[f"F{j}"] = prim.forward
            forward.append(f"v{j} = {self.call(j, f'F{j}', [self.var(r) for r in refs])}")
        backward, saved, results, kept = self.backward()
        saved = [self.var(r) for r in saved]
        loop = ["    for t in order:", "        a0 = xs[t]", *[f"        {s}" for s in forward]]
        step_end = [
            f"        {_list(states)} = {_list(self.var(r) for r in p.outputs)}",
            "        outputs[t] = a1",
            f"    return {_tuple(states)}",
        ]
        source = [
            f"def run_infer({_list(['xs', 'order', 'outputs', *states, *invariants])}):",
            *loop,
            *step_end,
            "",
            f"def run_forward({_list(['xs', 'order', 'outputs', 'tape', *states, *invariants])}):",
            "    save = tape.append",
            *loop,
            f"        save({_tuple(saved)})",
            *step_end,
        ]
        for keeping in (False, True):
            source += ["", *self.backward_loop(backward, saved, results, kept, keeping)]
        return "\n".join(source) + "\n", self.namespace

    def backward_loop(self, body, saved, results, kept, keeping):
        p, n_st = self.p, self.p.n_states
        g_outs = [f"g_out{k}" for k in range(n_st)]
        invariant = range(1 + n_st, p.n_inputs)
        args = ["g", "order", "tape", "free", "grad_x", "kept", *g_outs]
        args += [f"a{r}" for r in invariant] + [f"sink{r}" for r in invariant]
        name = "run_backward_keeping" if keeping else "run_backward"
        lines = [
            f"def {name}({_list(args)}):",
            "    for position in range(len(order) - 1, -1, -1):",
            "        t = order[position]",
            "        g_out0 = g_out0 + g[t]  # the output at t is the state's first tensor",
            # free: each step's arrays go once read, as the sweep frees a node's (the tape is
            # read from its end, so popping gives tape[position])
            f"        {_tuple(saved)} = tape.pop() if free else tape[position]",
            *[f"        {line}" for line in body],
        ]
        grad_x0 = results[0]  # an array of x_t's shape (see ``accumulate``)
        if grad_x0 != "None":
            lines += ["        if grad_x is not None:", f"            grad_x[t] = {grad_x0}"]
        for r in invariant:
            for c, kind in results[r]:
                if kind == "product" and grad_x0 != "None":  # see ``XRows``
                    a, gx = f"{c}.a", grad_x0  # a is all of gx, as rows in gx's order:
                    same = (
                        f"{a}.base is {gx} and {a}.size == {gx}.size and {a}.shape[-1] == "
                        f"{gx}.shape[-1] and {a}.flags.c_contiguous"
                    )
                    # b is all of the step's input state (a fresh array of the step before)
                    state = f"{c}.b.base is a1" if "a1" in saved else "False"
                    lines.append(
                        f"        sink{r}.append(XRows(t, {c}.b, {state}) if grad_x is not None "
                        f"and type({c}) is ProductGrad and {same} else {c})"
                    )
                else:
                    lines.append(f"        sink{r}.append({c})")
        if keeping:
            lines.append(f"        kept[position] = {{{kept}}}")
        lines += [
            f"        {_list(g_outs)} = {_list(results[1 + k] for k in range(n_st))}",
            f"    return {_tuple(g_outs)}",
        ]
        return lines

    def backward(self):
        """The lines of one step's backward, the refs it reads from the forward (to be saved), the
        gradient of each input (a variable, or for invariants a list of (variable, kind)), and the
        ``{instruction: gradient}`` source of what a keeping backward keeps."""
        p, n_in, n_st = self.p, self.p.n_inputs, self.p.n_states
        invariant = range(1 + n_st, n_in)
        live = self.live()
        contributions = {r: [] for r in live}  # ref -> [(variable, kind, index)]
        for k, r in enumerate(p.outputs):
            contributions[r].append((f"g_out{k}", "dense", None))
        lines, saved, grads, count = [], [], {}, 0
        for j in range(len(p.instructions) - 1, -1, -1):
            r_out = n_in + j
            if r_out not in live:
                continue
            grads[r_out] = self.accumulate(r_out, contributions[r_out], lines)
            prim, refs, params, *_ = p.instructions[j]
            if prim.saves_out and r_out not in saved:
                saved.append(r_out)
            for i, r in enumerate(refs):
                if isinstance(r, tuple) or r not in live or not prim.differentiable(i):
                    continue
                args = []
                for q, rq in enumerate(refs):
                    if prim.saves is None or q in prim.saves:
                        if not isinstance(rq, tuple) and rq not in saved and rq not in invariant:
                            saved.append(rq)
                        args.append(self.var(rq))
                    else:
                        self.namespace[f"ph{j}_{q}"] = self.placeholder(rq)
                        args.append(f"ph{j}_{q}")
                out = f"v{j}" if prim.saves_out else "None"
                if prim.vjp_argnum is not None:
                    self.namespace[f"VA{j}"] = prim.vjp_argnum
                    call = self.call(j, f"VA{j}", [str(i), grads[r_out], out, *args])
                else:
                    self.namespace[f"V{j}_{i}"] = prim.vjps[i]
                    call = self.call(j, f"V{j}_{i}", [grads[r_out], out, *args])
                lines.append(f"c{count} = {call}")
                kind = _kind(prim, i, params, p.shape_of(r), p.shape_of(r_out))
                contributions[r].append((f"c{count}", kind, params.get("index")))
                count += 1
        results = [self.accumulate(0, contributions.get(0, []), lines)]
        for r in range(1, n_in):
            if r in invariant:
                results.append([(c, kind) for c, kind, _ in contributions.get(r, [])])
            elif contributions.get(r):
                results.append(self.accumulate(r, contributions[r], lines))
            else:  # a state the step never reads: its carried gradient is zero
                results.append(self.zeros(r, lines))
        kept = ", ".join(f"{r - n_in}: {v}" for r, v in sorted(grads.items()) if r >= n_in)
        return lines, saved, results, kept

    def accumulate(self, r, contributions, lines):
        """Lines adding a ref's gradient contributions up; returns the variable holding it: an
        array of the ref's shape (a VJP's result of an unbroadcast input's shape, a sum, a buffer
        filled or joined from slices), or "None" without contributions."""
        if not contributions:
            return "None"
        shape, name = self.p.shape_of(r), f"g{r}"
        kinds = [k for _, k, _ in contributions]
        if len(contributions) == 1 and kinds[0] in ("dense", "other"):
            return contributions[0][0]
        tiles = _tiling([index for _, k, index in contributions if k == "indexed"], shape)
        if tiles and len(tiles[1]) == len(contributions):  # slices that cover it: join them
            axis, order = tiles
            values = _tuple(f"{contributions[k][0]}.value" for k in order)
            lines.append(f"{name} = np.concatenate({values}, axis={axis})")
            return name
        if "indexed" in kinds:  # a fresh buffer of ours, that slices add into in place
            self.zeros(r, lines)
            for c, kind, _ in contributions:
                if kind == "indexed":
                    lines.append(f"{c}.add_to({name})")
                else:
                    lines.append(f"{name} += {self.dense(c, kind, shape)}")
            return name
        (first, first_kind, _), *rest = contributions
        terms = [self.dense(first, first_kind, shape)]
        terms += [self.dense(c, kind, shape) for c, kind, _ in rest]
        lines.append(f"{name} = {' + '.join(terms)}")
        return name

    def zeros(self, r, lines):
        self.namespace[f"dt{r}"] = self.p.dtype_of(r)
        lines.append(f"g{r} = np.zeros({self.p.shape_of(r)!r}, dt{r})")
        return f"g{r}"

    def dense(self, c, kind, shape):
        if kind == "broadcast":
            return f"unbroadcast({c}, {shape!r})"
        if kind == "product":  # a weight computed inside the step: multiplied out at once
            return f"({c}.a.T @ {c}.b if type({c}) is ProductGrad else {c})"
        return c

    def placeholder(self, ref):
        if isinstance(ref, tuple):
            return Placeholder(np.asarray(self.p.constants[ref[1]]))
        # a zero-strided view has the shape and dtype and no memory
        return Placeholder(
            np.broadcast_to(np.zeros((), self.p.dtype_of(ref)), self.p.shape_of(ref))
        )

    def live(self):
        """Refs that take a gradient: computed from an input, and reaching an output."""
        p, n_in = self.p, self.p.n_inputs
        from_inputs = set(range(n_in))  # every input may require grad (decided at run time)
        for j, (prim, refs, *_) in enumerate(p.instructions):
            if any(r in from_inputs and prim.differentiable(i) for i, r in _refs(refs)):
                from_inputs.add(n_in + j)
        live = {r for r in p.outputs if r in from_inputs}
        for j in range(len(p.instructions) - 1, -1, -1):
            if n_in + j in live:
                prim, refs, *_ = p.instructions[j]
                live.update(
                    r for i, r in _refs(refs) if r in from_inputs and prim.differentiable(i)
                )
        return live


def _list(names):
    return ", ".join(names)


def _tuple(names):
    names = list(names)
    return f"({names[0]},)" if len(names) == 1 else f"({', '.join(names)})"


def _refs(refs):
    return [(i, r) for i, r in enumerate(refs) if not isinstance(r, tuple)]


def _kind(prim, argnum, params, shape, out_shape):
    """How a VJP's result is added up: "indexed" (an IndexedGrad), "product" (maybe a
    ProductGrad), "broadcast" (to be summed back to the input's shape) or "other" (as it is)."""
    if prim is getitem and _is_basic_index(params.get("index")):
        return "indexed"
    if prim in (linear, matmul) and argnum == 1:
        return "product"
    if shape != out_shape and _broadcasts_to(shape, out_shape):
        return "broadcast"  # an elementwise op broadcast this input: its VJP has out's shape
    return "other"


def _broadcasts_to(shape, out_shape):
    try:
        return np.broadcast_shapes(shape, out_shape) == tuple(out_shape)
    except ValueError:
        return False


def _tiling(indices, shape):
    """(axis, order) if the basic indices are slices along one axis that cover ``shape`` end to
    end (``order``: the contributions by position along it); else None."""
    spans = []
    for index in indices:
        items = index if isinstance(index, tuple) else (index,)
        if items[:1] == (Ellipsis,):
            items = (slice(None),) * (len(shape) - len(items) + 1) + items[1:]
        if len(items) != len(shape) or not all(isinstance(i, slice) for i in items):
            return None
        cut = [a for a, i in enumerate(items) if i != slice(None)]
        if len(cut) != 1:
            return None
        start, stop, step = items[cut[0]].indices(shape[cut[0]])
        if step != 1:
            return None
        spans.append((cut[0], start, stop))
    if not spans or len({axis for axis, _, _ in spans}) != 1:
        return None
    order = sorted(range(len(spans)), key=lambda k: spans[k][1])
    ends = [0] + [spans[k][2] for k in order]
    if [spans[k][1] for k in order] != ends[:-1] or ends[-1] != shape[spans[0][0]]:
        return None
    return spans[0][0], order
