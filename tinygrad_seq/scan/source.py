"""Writing a recorded step out as Python: a forward loop and a backward loop over the steps.

Every line names the primitive it calls, and a value is named as its node is ("forget gate" ->
``forget_gate``; ``v7`` where a node has no name). For an LSTM step the backward reads, in part:

    g_output_gate = mul_vjp_0(g_state0, None, output_gate, v13)
    g_v13 = mul_vjp_1(g_state0, None, output_gate, v13)
    g_cell_state_1 = tanh_vjp(g_v13, v13, cell_state_shape)
    g_cell_state = g_state1 + g_cell_state_1

``g_state0``, ``g_state1``: the gradient of the state after the step, carried back from the step
after it; ``g_<value>``: a value's gradient, ``g_<value>_<k>`` its k-th part when several VJPs add
to it; ``<value>_shape``: a ``Placeholder`` (shape and dtype) for an input no VJP reads.

Each function reads its forwards and VJPs from the primitives (``table``) when it is called, not
when it is written: a forward or VJP edited in ``ops`` is what the next call runs. How a gradient
is added up is decided once, when writing, from the forms the primitives declare (``ops``:
``grad_form``; a VJP that returns ``g`` itself is no call at all, its result the same variable)
and from the shapes (``_kind``): this module knows no op and no derivative. ``run_backward``
takes only what it reads (``Program.backward_reads``, ``backward_sums``).
"""

import builtins
import keyword
import re

import numpy as np

from ..grads import ProductGrad, add_indexed, dense, unbroadcast

# names the written functions use for themselves
_FIXED = ("xs", "order", "outputs", "tape", "save", "t", "position", "g", "free", "grad_x", "kept")
_FIXED += ("np", "unbroadcast", "add_indexed", "dense", "XRows", "as_rows", "table")
_FIXED += ("run_infer", "run_forward", "run_backward")
# Apply an elementwise primitive once to neighbouring slices of one array (``siblings``), where
# the array has at most FUSE_MAX_SIZE elements: the calls saved pay where Python's cost per call
# dominates; on larger arrays the extra copy (the gradients' concatenate) and the elements
# between the slices cost more than they save. Measured, interleaved, a training step against
# the unfused one: LSTM char (B1 H100) 0.89x, small (B16 H64) 0.96x, medium (B32 H256) 1.05x.
FUSE, FUSE_MAX_SIZE = True, 8192
_READ = "    # read from the primitives at each call: an edited forward or VJP is what runs"


def write(program, input_names):
    """(source, namespace) of ``program``'s loops: ``run_infer``, ``run_forward`` and
    ``run_backward`` (written from ``program.plan``). ``input_names``: the names of x_t and of the
    invariants (the step's parameter names)."""
    return _Writer(program, input_names).source()


class XRows:
    """A weight's gradient ``grad_x[t]^T @ b``: the product a VJP returned had x_t's gradient itself
    as its left factor (a linear layer's input and weight gradients come from one ``g``), and that
    gradient is already a row of ``grad_x``. The weight's GEMM then reads grad_x as it lies,
    without another copy of every step's rows. ``from_state``: ``b`` is this step's input state
    (the first), i.e. the previous step's output, which the scan's result holds as a row too."""

    __slots__ = ("t", "b", "from_state")

    def __init__(self, t, b, from_state):
        self.t, self.b, self.from_state = t, b, from_state


def as_rows(t, product, g_x, state):
    """``product`` as ``XRows`` if it is a ``ProductGrad`` whose left factor is all of ``g_x``, as
    rows in g_x's order; else as it is. ``state``: the step's first input state (or None)."""
    a = product.a if type(product) is ProductGrad else None
    if (
        a is not None
        and a.base is g_x
        and a.size == g_x.size
        and a.shape[-1] == g_x.shape[-1]
        and a.flags.c_contiguous
    ):
        return XRows(t, product.b, state is not None and product.b.base is state)
    return product


class _Writer:
    def __init__(self, program, input_names):
        self.p = program
        self.namespace = {
            "np": np,
            "unbroadcast": unbroadcast,
            "add_indexed": add_indexed,
            "dense": dense,
            "XRows": XRows,
            "as_rows": as_rows,
            "table": {},
        }
        self.taken = set(_FIXED) | set(keyword.kwlist) | set(dir(builtins))
        self.taken.update(f"g_state{k}" for k in range(program.n_states))
        self.forwards, self.vjps = {}, {}  # primitive (by id) -> its forward's / VJPs' names
        for prim, *_ in program.instructions:
            if id(prim) not in self.forwards:
                name = self.unique(prim.name)
                self.forwards[id(prim)] = name
                self.namespace["table"][name] = prim
                slots = 1 if prim.vjp_argnum is not None else len(prim.vjps)
                self.vjps[id(prim)] = [
                    self.unique(f"{name}_vjp" if slots == 1 else f"{name}_vjp_{i}")
                    for i in range(slots)
                ]
        self.constants = [self.unique(f"const{c}") for c in range(len(program.constants))]
        self.namespace.update(zip(self.constants, program.constants))
        self.names = self.value_names(input_names)
        self.params = {}  # (instruction, param name) -> the name it is bound to
        self.placeholders = {}  # ref -> the name of its Placeholder

    def unique(self, name):
        """``name`` as a Python identifier no other name of the source has."""
        name = re.sub(r"\W+", "_", name.strip()).strip("_") or "v"
        if name[0].isdigit():
            name = "v_" + name
        stem, k = name, 1
        while name in self.taken:
            k += 1
            name = f"{stem}_{k}"
        self.taken.add(name)
        return name

    def value_names(self, input_names):
        """One variable per ref: x_t and the invariants as the step names them, a state as its new
        value is named (+ "_prev"), an instruction's result as its node ("v7" if unnamed)."""
        p, n_in = self.p, self.p.n_inputs
        x_name, *invariant_names = input_names
        names = [self.unique(x_name)]
        for k, r in enumerate(p.outputs):
            named = r >= n_in and p.instructions[r - n_in][3]
            names.append(self.unique(f"{named}_prev" if named else f"state{k}"))
        names += [self.unique(name) for name in invariant_names]
        for j, (*_, name, _, _) in enumerate(p.instructions):
            names.append(self.unique(name or f"v{j}"))
        return names

    def var(self, ref):
        if type(ref) is str:  # a name of the source's own (a fused call's result)
            return ref
        if isinstance(ref, tuple):
            return self.constants[ref[1]]
        return self.names[ref]

    def call(self, j, fn, args):
        """``fn(args, name=param, ...)`` with instruction j's params bound in the namespace."""
        kwargs = []
        for name, value in self.p.instructions[j][2].items():
            bound = self.params.get((j, name))
            if bound is None:  # bound once, read by the forward and the backward
                bound = self.params[j, name] = self.unique(
                    f"{self.names[self.p.n_inputs + j]}_{name}"
                )
                self.namespace[bound] = value
            kwargs.append(f"{name}={bound}")
        return f"{fn}({', '.join(list(args) + kwargs)})"

    def source(self):
        p = self.p
        states = [self.names[1 + k] for k in range(p.n_states)]
        invariants = self.names[1 + p.n_states : p.n_inputs]
        self.groups = []  # (primitive, name, whole ref, its covering slice, ...) (``fuse``)
        forward, fused = [], self.siblings() if FUSE else {}
        for j, (prim, refs, _, name, *_) in enumerate(p.instructions):
            line = f"{self.names[p.n_inputs + j]} = "
            if j in fused:  # one of several slices one call computed: a view of its result
                first, whole, part = fused[j]
                if first:
                    forward.append(first)
                line += f"{whole}[{part}]"
            else:
                line += self.call(j, self.forwards[id(prim)], [self.var(r) for r in refs])
            forward.append(line + (f"  # {_comment(name)}" if name else ""))
        backward, saved, results = self.backward()
        saved = [self.var(r) for r in saved]
        invariant = range(1 + p.n_states, p.n_inputs)  # each one's per-step gradients go here
        self.sinks = {r: self.unique(f"grads_{self.names[r]}") for r in invariant}
        loop = [
            "    for t in order:",
            f"        {self.names[0]} = xs[t]",
            *[f"        {s}" for s in forward],
        ]
        step_end = [
            f"        {_list(states)} = {_list(self.var(r) for r in p.outputs)}",
            f"        outputs[t] = {states[0]}",
            f"    return {_tuple(states)}",
        ]
        source = [
            f"def run_infer({_list(['xs', 'order', 'outputs', *states, *invariants])}):",
            *self.read_forwards(),
            *loop,
            *step_end,
            "",
            f"def run_forward({_list(['xs', 'order', 'outputs', 'tape', *states, *invariants])}):",
            *self.read_forwards(),
            "    save = tape.append",
            *loop,
            f"        save({_tuple(saved)})",
            *step_end,
            "",
            *self.backward_loop(backward, saved, results),
        ]
        return "\n".join(source) + "\n", self.namespace

    def siblings(self):
        """Instructions applying one elementwise primitive to neighbouring slices of one array
        (an LSTM's input and forget gates): j -> (the line computing them all on the covering
        slice, written before the first of them, else None; that result's name; the name of the
        index of j's part in it). Fewer calls, the same numbers: each element is computed as
        alone."""
        p, n_in, runs = self.p, self.p.n_inputs, {}
        for j, (prim, refs, params, *_) in enumerate(p.instructions):
            a = refs[0] if prim.elementwise and len(refs) == 1 and not params else None
            if type(a) is not int or a < n_in:
                continue
            cut, cut_refs, cut_params, *_ = p.instructions[a - n_in]
            index = cut_params.get("index")
            if len(cut_refs) != 1 or cut.grad_form(0, cut_params) != "indexed":
                continue  # not a basic slice of an array
            span = _span(index, p.shape_of(cut_refs[0]))
            if span is not None and type(cut_refs[0]) is int:
                runs.setdefault((id(prim), cut_refs[0], span[0]), []).append((span[1:], j))
        fused = {}
        for (_, whole_ref, axis), members in runs.items():
            shape = p.shape_of(whole_ref)
            if int(np.prod(shape)) > FUSE_MAX_SIZE:
                continue
            members.sort()
            group = [members[0]]
            total = p.instructions[members[0][1]][0].elementwise == "total"
            for member in members[1:] + [None]:
                # a run of neighbours; or, for a primitive defined everywhere, any slices: the
                # elements between them are computed too, and unused
                if member is not None and (total or member[0][0] == group[-1][0][1]):
                    group.append(member)
                    continue
                if len(group) > 1:
                    self.fuse(group, whole_ref, axis, fused)
                if member is not None:
                    group = [member]
        return fused

    def fuse(self, group, whole_ref, axis, fused):
        """Fill ``fused`` for one run of neighbouring slices (``siblings``)."""
        p, n_in = self.p, self.p.n_inputs
        start, stop = group[0][0][0], max(hi for (_, hi), _ in group)
        shape = p.shape_of(whole_ref)
        js = sorted(j for _, j in group)
        prim = p.instructions[js[0]][0]
        name = self.unique(f"{prim.name}_{self.var(whole_ref)}")
        arg = self.var(whole_ref)
        if (start, stop) != (0, shape[axis]):
            cover = self.unique(f"{name}_slice")
            self.namespace[cover] = (slice(None),) * axis + (slice(start, stop),)
            arg = f"{arg}[{cover}]"
        what = ", ".join(_comment(p.instructions[j][3] or self.names[n_in + j]) for j in js)
        line = f"{name} = {self.forwards[id(prim)]}({arg})  # one call: {what}"
        parts = {}
        for (lo, hi), j in group:
            part = parts[j] = self.unique(f"{self.names[n_in + j]}_part")
            self.namespace[part] = (slice(None),) * axis + (slice(lo - start, hi - start),)
            fused[j] = (line if j == js[0] else None, name, part)
        self.groups.append((prim, name, whole_ref, arg, axis, start, stop, group, parts))

    def read_forwards(self):
        """The first lines of a forward loop: each primitive's forward, read at call time."""
        return [_READ] + [
            f'    {self.forwards[id(prim)]} = table["{name}"].forward'
            for name, prim in self.namespace["table"].items()
        ]

    def read_vjps(self):
        """The first lines of the backward loop: the VJPs it calls, read at call time."""
        lines = [_READ]
        for name, prim in self.namespace["table"].items():
            for i, fn in enumerate(self.vjps[id(prim)]):
                if fn in self.used:
                    what = "vjp_argnum" if prim.vjp_argnum is not None else f"vjps[{i}]"
                    lines.append(f'    {fn} = table["{name}"].{what}')
        return lines

    def backward_loop(self, body, saved, results):
        """``run_backward``'s lines."""
        p, n_st, sinks = self.p, self.p.n_states, self.sinks
        g_states = [f"g_state{k}" for k in range(n_st)]
        invariant = range(1 + n_st, p.n_inputs)
        # only what the loop reads: grad_x if x_t takes a gradient, the invariants the VJPs read,
        # the lists of the invariants that take a gradient (``Program.backward_reads``, ...)
        g_x = results[0]
        reads = [r for r in invariant if r in p.plan.reads]
        sums = [r for r in invariant if results[r]]
        p.backward_takes_x = g_x != "None"
        p.backward_reads = [r - invariant.start for r in reads]
        p.backward_sums = [r - invariant.start for r in sums]
        args = ["g", "order", "tape", "free", *(["grad_x"] if g_x != "None" else [])]
        args += g_states + [self.names[r] for r in reads] + [sinks[r] for r in sums]
        lines = [
            f"def run_backward({_list(args)}):",
            *self.read_vjps(),
            "    for position in range(len(order) - 1, -1, -1):",
            "        t = order[position]",
            "        g_state0 = g_state0 + g[t]  # the output at t is the first state",
            # free: each step's arrays go once read, as the sweep frees a node's (the tape is
            # read from its end, so popping gives tape[position])
            f"        {_tuple(saved)} = tape.pop() if free else tape[position]",
            *[f"        {line}" for line in body],
        ]
        if g_x != "None":  # an array of x_t's shape (see ``accumulate``)
            lines += ["        if grad_x is not None:", f"            grad_x[t] = {g_x}"]
        state = self.names[1] if self.names[1] in saved else "None"
        for r in invariant:
            for c, kind in results[r]:
                if kind == "product" and g_x != "None":  # see ``XRows``
                    lines.append(
                        f"        {sinks[r]}.append({c} if grad_x is None else "
                        f"as_rows(t, {c}, {g_x}, {state}))"
                    )
                else:
                    lines.append(f"        {sinks[r]}.append({c})")
        lines += [
            f"        {_list(g_states)} = {_list(results[1 + k] for k in range(n_st))}",
            f"    return {_tuple(g_states)}",
        ]
        return lines

    def backward(self):
        """The lines of one step's backward, written from the program's ``Plan``: the refs it
        reads from the forward (to be saved), and the gradient of each input (a variable, or for
        invariants a list of (variable, kind))."""
        p, plan, n_in = self.p, self.p.plan, self.p.n_inputs
        invariant = plan.invariants
        parts = {r: sum(r_out == r for r_out in p.outputs) for r in plan.live}
        for _, _, r, _, _ in plan.calls:
            parts[r] += 1
        contributions = {r: [] for r in plan.live}  # ref -> [(variable, kind, index)]
        for k, r in enumerate(p.outputs):
            contributions[r].append((f"g_state{k}", "dense", None))
        lines, grads, made = [], {}, {}  # made: VJP results so far, by input
        self.used = set()  # the VJPs called, for ``read_vjps``
        joint, saved = self.joint_vjps(), list(plan.saved)
        for group in {id(g): g for g in joint.values()}.values():
            saved += group["saved"]  # after the plan's own: it reads the tape by position
        for j, i, r, form, kind in plan.calls:
            r_out = n_in + j
            prim, refs, params, *_ = p.instructions[j]
            if r_out not in grads:
                grads[r_out] = self.accumulate(r_out, contributions[r_out], lines)
            if form == "same":  # the VJP returns g itself: no call, the same variable
                contributions[r].append((grads[r_out], kind, None))
                continue
            if j in joint:  # one VJP call for the slices one forward call computed
                contributions[r].append((self.joint_vjp(j, joint[j], grads, lines), kind, None))
                continue
            args = [self.var(a) if read else self.placeholder(a) for a, read in plan.args[j]]
            out = self.var(r_out) if prim.saves_out else "None"
            single = parts[r] == 1 and (kind in ("dense", "other") or r in invariant)
            made[r] = made.get(r, 0) + 1
            name = self.unique(f"g_{self.names[r]}" + ("" if single else f"_{made[r]}"))
            if prim.vjp_argnum is not None:
                fn, args = self.vjps[id(prim)][0], [str(i), grads[r_out], out, *args]
            else:
                fn, args = self.vjps[id(prim)][i], [grads[r_out], out, *args]
            self.used.add(fn)
            lines.append(f"{name} = {self.call(j, fn, args)}")
            contributions[r].append((name, kind, params.get("index")))
        results = [self.accumulate(0, contributions.get(0, []), lines)]
        for r in range(1, n_in):
            if r in invariant:
                results.append([(c, kind) for c, kind, _ in contributions.get(r, [])])
            elif contributions.get(r):
                results.append(self.accumulate(r, contributions[r], lines))
            else:  # a state the step never reads: its carried gradient is zero
                results.append(self.zeros(r, lines))
        return lines, saved, results

    def joint_vjps(self):
        """The fused groups (``fuse``) whose VJPs can be one call: j -> the group's description.
        Each member's input must be read by its VJP (the call reads the covering slice), and
        each member's VJP called."""
        p, plan, n_in, joint = self.p, self.p.plan, self.p.n_inputs, {}
        called = [j for j, _, _, form, _ in plan.calls if form != "same"]  # a call each
        for prim, name, whole_ref, arg, axis, start, _, group, parts in self.groups:
            js = [j for _, j in group]
            if not all(j in called and plan.args.get(j, [(None, False)])[0][1] for j in js):
                continue
            extra = [whole_ref] if whole_ref not in plan.saved else []
            dtype = p.dtype_of(n_in + js[0])
            pieces, at = [], start
            for (lo, hi), j in group:
                if lo > at:  # the elements between the slices take no gradient here
                    gap = self.unique(f"{name}_gap")
                    shape = list(p.shape_of(whole_ref))
                    shape[axis] = lo - at
                    self.namespace[gap] = np.zeros(shape, dtype)
                    pieces.append(gap)
                pieces.append(n_in + j)  # its output's gradient, by ref
                at = hi
            description = {
                "prim": prim,
                "name": name,
                "arg": arg,
                "axis": axis,
                "pieces": pieces,
                "whole": whole_ref,
                "last": [j for j in called if j in js][-1],
                "parts": parts,
                "saved": extra + ([name] if prim.saves_out else []),
            }
            for j in js:
                joint[j] = description
        return joint

    def joint_vjp(self, j, group, grads, lines):
        """The variable holding member j's input gradient, a view of the joint VJP's result;
        the lines computing that result are written at the last member's call."""
        name = group.setdefault("views", {}).get(j)
        if name is None:
            for k in group["parts"]:
                group["views"][k] = self.unique(f"g_{self.var(self.p.instructions[k][1][0])}")
            name = group["views"][j]
        if j != group["last"]:
            return name
        g_all = self.unique(f"g_{group['name']}")
        g_in = self.unique(f"g_{self.var(group['whole'])}_via_{group['prim'].name}")
        pieces = [grads[k] if type(k) is int else k for k in group["pieces"]]
        lines.append(f"{g_all} = np.concatenate({_tuple(pieces)}, axis={group['axis']})")
        prim = group["prim"]
        fn = self.vjps[id(prim)][0]
        self.used.add(fn)
        out = group["name"] if prim.saves_out else "None"
        lines.append(f"{g_in} = {fn}({g_all}, {out}, {group['arg']})  # one call")
        for k, part in group["parts"].items():
            lines.append(f"{group['views'][k]} = {g_in}[{part}]")
        return name

    def accumulate(self, r, contributions, lines):
        """Lines adding a ref's gradient contributions up; returns the variable holding it: an
        array of the ref's shape (a VJP's result of an unbroadcast input's shape, a sum, a buffer
        filled or joined from slices), or "None" without contributions."""
        if not contributions:
            return "None"
        shape = self.p.shape_of(r)
        kinds = [k for _, k, _ in contributions]
        if len(contributions) == 1 and kinds[0] in ("dense", "other"):
            return contributions[0][0]
        name = self.unique(f"g_{self.names[r]}")
        tiles = _tiling([index for _, k, index in contributions if k == "indexed"], shape)
        if tiles and len(tiles[1]) == len(contributions):  # slices that cover it: join them
            axis, order = tiles
            values = _tuple(f"{contributions[k][0]}.value" for k in order)
            lines.append(f"{name} = np.concatenate({values}, axis={axis})")
            return name
        if "indexed" in kinds:  # a fresh buffer of ours, that slices add into in place
            self.zeros(r, lines, name)
            for c, kind, _ in contributions:
                if kind == "indexed":
                    lines.append(f"add_indexed({name}, {c})")
                else:
                    lines.append(f"{name} += {self.dense(c, kind, shape)}")
            return name
        terms = [self.dense(c, kind, shape) for c, kind, _ in contributions]
        lines.append(f"{name} = {' + '.join(terms)}")
        return name

    def zeros(self, r, lines, name=None):
        name = name or self.unique(f"g_{self.names[r]}")
        dtype = self.unique(f"{self.names[r]}_dtype")
        self.namespace[dtype] = self.p.dtype_of(r)
        lines.append(f"{name} = np.zeros({self.p.shape_of(r)!r}, {dtype})")
        return name

    def dense(self, c, kind, shape):
        if kind == "broadcast":
            return f"unbroadcast({c}, {shape!r})"
        if kind == "product":  # a weight computed inside the step: multiplied out at once
            return f"dense({c})"
        return c

    def placeholder(self, ref):
        """The name of a ``Placeholder`` for ``ref`` (bound once in the namespace)."""
        name = self.placeholders.get(ref)
        if name is None:
            name = self.placeholders[ref] = self.unique(f"{self.var(ref)}_shape")
            self.namespace[name] = self.p.plan.placeholder(ref)
        return name


def _comment(name):
    return " ".join(str(name).split())  # one line


def _list(names):
    return ", ".join(names)


def _tuple(names):
    names = list(names)
    return f"({names[0]},)" if len(names) == 1 else f"({', '.join(names)})"


def _span(index, shape):
    """(axis, start, stop) if ``index`` is a slice with step 1 along one axis of ``shape``, all of
    the others kept; else None."""
    items = index if isinstance(index, tuple) else (index,)
    if items[:1] == (Ellipsis,):
        items = (slice(None),) * (len(shape) - len(items) + 1) + items[1:]
    if len(items) != len(shape) or not all(isinstance(i, slice) for i in items):
        return None
    cut = [a for a, i in enumerate(items) if i != slice(None)]
    if len(cut) != 1:
        return None
    start, stop, step = items[cut[0]].indices(shape[cut[0]])
    return (cut[0], start, stop) if step == 1 else None


def _tiling(indices, shape):
    """(axis, order) if the basic indices are slices along one axis that cover ``shape`` end to
    end (``order``: the contributions by position along it); else None."""
    spans = [_span(index, shape) for index in indices]
    if None in spans:
        return None
    if not spans or len({axis for axis, _, _ in spans}) != 1:
        return None
    order = sorted(range(len(spans)), key=lambda k: spans[k][1])
    ends = [0] + [spans[k][2] for k in order]
    if [spans[k][1] for k in order] != ends[:-1] or ends[-1] != shape[spans[0][0]]:
        return None
    return spans[0][0], order
