"""L-BFGS, as ``torch.optim.LBFGS``: a quasi-Newton method that re-evaluates the loss itself.

``step(closure)`` runs up to ``max_iter`` iterations. Each one turns the gradient into a search
direction with the two-loop recursion over the last ``history_size`` pairs of (change of
parameters ``s``, change of gradient ``y``), then moves along it: by a fixed step ``lr`` (the
first iteration ever is scaled down to at most ``lr / sum|g|``), or, with
``line_search_fn="strong_wolfe"``, by a step that satisfies the strong Wolfe conditions, found by
bracketing and then zooming in with cubic interpolation (Nocedal & Wright, Algorithms 3.5-3.6).

All parameters are handled as one flat vector; the state (history, direction, step, counters)
lives in ``optimizer.state`` under the first parameter, as in PyTorch, so successive ``step``
calls continue the same run.
"""

import numpy as np

from ..modes import enable_grad
from . import Optimizer

__all__ = ["LBFGS"]


class LBFGS(Optimizer):
    """L-BFGS with PyTorch's options and closure protocol: ``closure`` zeroes the gradients,
    computes the loss, calls ``backward`` and returns the loss; ``step(closure)`` calls it as
    often as it needs (at most ``max_eval`` times) and returns the loss of its first call.
    One parameter group only, as in PyTorch.

    >>> import numpy as np, tinygrad_seq as tg
    >>> w = tg.nn.Parameter(np.zeros(2))
    >>> target = np.array([3.0, -1.0])
    >>> opt = tg.optim.LBFGS([w], line_search_fn="strong_wolfe")
    >>> def closure():
    ...     opt.zero_grad()
    ...     loss = ((w - target) ** 2).sum()
    ...     loss.backward()
    ...     return loss
    >>> first_loss = opt.step(closure)
    >>> float(first_loss), np.round(w.numpy(), 6)
    (10.0, array([ 3., -1.]))
    """

    def __init__(
        self,
        params,
        lr=1,
        max_iter=20,
        max_eval=None,
        tolerance_grad=1e-7,
        tolerance_change=1e-9,
        history_size=100,
        line_search_fn=None,
    ):
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = {
            "lr": lr,
            "max_iter": max_iter,
            "max_eval": max_eval,
            "tolerance_grad": tolerance_grad,
            "tolerance_change": tolerance_change,
            "history_size": history_size,
            "line_search_fn": line_search_fn,
        }
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]

    def _check_options(self, group):
        if not group["lr"] >= 0:
            raise ValueError(f"Invalid learning rate: {group['lr']}")

    # --- the parameters as one flat vector --------------------------------------------------------

    def _flat_grad(self):
        """Every gradient, flattened and joined (zeros for a parameter without one): a new array."""
        parts = [
            np.zeros(p._data.size, p.dtype) if p._grad is None else p._grad._data.reshape(-1)
            for p in self._params
        ]
        return np.concatenate(parts)

    def _move_params(self, step, direction):
        """params += step * direction, in place, each write counted in the version."""
        offset = 0
        for p in self._params:
            n = p._data.size
            p._data += step * direction[offset : offset + n].reshape(p._data.shape)
            p._bump_version()
            offset += n

    def _copy_params(self):
        return [p._data.copy() for p in self._params]

    def _set_params(self, arrays):
        for p, array in zip(self._params, arrays):
            p._data[...] = array
            p._bump_version()

    def _evaluate_at(self, closure, start, step, direction):
        """The loss and flat gradient at start + step * direction; the parameters are put back."""
        self._move_params(step, direction)
        loss = float(_call(closure))
        flat_grad = self._flat_grad()
        self._set_params(start)
        return loss, flat_grad

    # --- the iteration ----------------------------------------------------------------------------

    def step(self, closure):
        """Run up to ``max_iter`` iterations; return the loss from the first call of ``closure``."""
        group = self.param_groups[0]
        if group["line_search_fn"] not in (None, "strong_wolfe"):
            raise RuntimeError("only 'strong_wolfe' is supported")
        state = self.state.setdefault(self._params[0], {})
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)
        first_loss = _call(closure)
        loss = float(first_loss)
        state["func_evals"] += 1
        flat_grad = self._flat_grad()
        if np.abs(flat_grad).max() <= group["tolerance_grad"]:
            return first_loss  # already at a stationary point
        evals, n_iter = 1, 0
        while n_iter < group["max_iter"]:
            n_iter += 1
            state["n_iter"] += 1
            self._new_direction(state, flat_grad, group["history_size"])
            state["prev_flat_grad"], state["prev_loss"] = flat_grad.copy(), loss
            if state["n_iter"] == 1:  # no curvature known yet: a cautious first step
                state["t"] = min(1.0, 1.0 / np.abs(flat_grad).sum()) * group["lr"]
            else:
                state["t"] = group["lr"]
            slope = flat_grad.dot(state["d"])  # the directional derivative
            if slope > -group["tolerance_change"]:
                break  # not a descent direction (any more)
            last = n_iter == group["max_iter"]
            loss, flat_grad, used, at_minimum = self._advance(
                closure, state, loss, flat_grad, slope, group["max_eval"] - evals, last
            )
            evals += used
            state["func_evals"] += used
            if last or evals >= group["max_eval"] or at_minimum:
                break
            if self._stalled(state, loss, group["tolerance_change"]):
                break
        return first_loss

    def _new_direction(self, state, flat_grad, history_size):
        """Store the newest (s, y) pair if it has positive curvature, then state["d"] = -H g."""
        if state["n_iter"] == 1:
            state.update(d=-flat_grad, old_dirs=[], old_stps=[], ro=[], H_diag=1)
            return
        y = flat_grad - state["prev_flat_grad"]
        s = state["d"] * state["t"]
        ys = y.dot(s)
        if ys > 1e-10:  # else skip the pair: it would make the inverse Hessian indefinite
            if len(state["old_dirs"]) == history_size:
                for key in ("old_dirs", "old_stps", "ro"):
                    state[key].pop(0)
            state["old_dirs"].append(y)
            state["old_stps"].append(s)
            state["ro"].append(1.0 / ys)
            state["H_diag"] = ys / y.dot(y)  # the scale of the initial inverse Hessian
        if "al" not in state:
            state["al"] = [None] * history_size
        state["d"] = _two_loop(flat_grad, state)

    def _advance(self, closure, state, loss, flat_grad, slope, evals_left, last):
        """Move the parameters along state["d"]; return (loss, flat gradient, closure calls,
        whether the gradient is below tolerance_grad) at the new point."""
        group = self.param_groups[0]
        d = state["d"]
        if group["line_search_fn"] == "strong_wolfe":
            start = self._copy_params()

            def evaluate(step):
                return self._evaluate_at(closure, start, step, d)

            loss, flat_grad, state["t"], used = _strong_wolfe(
                evaluate, d, state["t"], loss, flat_grad, slope, max_ls=evals_left
            )
            self._move_params(state["t"], d)
        else:
            self._move_params(state["t"], d)
            if last:  # the caller stops after this iteration: spare the closure call
                return loss, flat_grad, 0, False
            loss = float(_call(closure))
            flat_grad, used = self._flat_grad(), 1
        return loss, flat_grad, used, np.abs(flat_grad).max() <= group["tolerance_grad"]

    def _stalled(self, state, loss, tolerance_change):
        """True when the last move or the change of loss was below tolerance_change."""
        if np.abs(state["d"] * state["t"]).max() <= tolerance_change:
            return True
        return abs(loss - state["prev_loss"]) < tolerance_change

    # --- state_dict: the state is flat vectors and lists of them, not parameter-shaped ------------

    def _restore(self, value, p, where):
        if isinstance(value, (list, tuple)):
            return [self._restore(v, p, f"{where}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, np.ndarray):
            return value.astype(p.dtype)
        return value


def _call(closure):
    """The closure records its graph even when step runs under no_grad, as in PyTorch."""
    if not callable(closure):
        raise TypeError(
            "LBFGS.step needs a closure: a function that zeroes the gradients, computes the loss, "
            f"calls backward() and returns the loss; got {closure!r}"
        )
    with enable_grad():
        return closure()


def _two_loop(flat_grad, state):
    """-H g for the inverse-Hessian approximation H made of the stored (s, y) pairs."""
    dirs, steps, ro, alpha = state["old_dirs"], state["old_stps"], state["ro"], state["al"]
    q = -flat_grad
    for i in reversed(range(len(dirs))):
        alpha[i] = steps[i].dot(q) * ro[i]
        q += -alpha[i] * dirs[i]
    r = q * state["H_diag"]
    for i in range(len(dirs)):
        beta = dirs[i].dot(r) * ro[i]
        r += (alpha[i] - beta) * steps[i]
    return r


# --- the strong Wolfe line search -----------------------------------------------------------------
# A point of the search is (t, loss, flat gradient, slope along d).


def _strong_wolfe(
    evaluate, d, t, loss, flat_grad, slope, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25
):
    """A step t along d with loss(t) <= loss + c1 t slope (enough decrease) and
    |slope(t)| <= c2 |slope| (enough flattening). Returns (loss, flat gradient, t, evaluations)."""
    start = (0, loss, flat_grad, slope)

    def enough_decrease(point):
        return not point[1] > loss + c1 * point[0] * slope

    def flat_enough(point):
        return abs(point[3]) <= -c2 * slope

    def at(step):
        f, g = evaluate(step)
        return (step, f, g, g.dot(d))

    bracket, done, tries = _bracket(at, start, t, enough_decrease, flat_enough, max_ls)
    low, tries = _zoom(
        at, bracket, done, tries, enough_decrease, flat_enough, d, tolerance_change, max_ls
    )
    step, f, g, _ = low
    return f, g, step, tries


def _bracket(at, start, t, enough_decrease, flat_enough, max_ls):
    """Phase 1: try growing steps until [previous, current] must hold an acceptable step, or the
    current one is acceptable itself. Returns (bracket, found, evaluations so far)."""
    prev, new = start, at(t)
    tries = 1
    while tries <= max_ls:
        if not enough_decrease(new) or (tries > 2 and new[1] >= prev[1]):
            return [prev, new], False, tries
        if flat_enough(new):
            return [new], True, tries
        if new[3] >= 0:  # the slope turned: a minimum lies between
            return [prev, new], False, tries
        # extrapolate, at least 1% beyond and at most 10 times the current step
        bounds = (new[0] + 0.01 * (new[0] - prev[0]), new[0] * 10)
        step = _cubic_minimum(prev, new, bounds)
        prev, new = new, at(step)
        tries += 1
    return [start, new], False, tries  # out of evaluations: keep the better end


def _zoom(at, bracket, done, tries, enough_decrease, flat_enough, d, tolerance_change, max_ls):
    """Phase 2: shrink the bracket around an acceptable step. Returns (best point, evaluations)."""
    low, high = (0, 1) if bracket[0][1] <= bracket[-1][1] else (1, 0)
    insufficient = False
    d_norm = np.abs(d).max()
    while not done and tries <= max_ls:
        if abs(bracket[1][0] - bracket[0][0]) * d_norm < tolerance_change:
            break  # the bracket is too small to tell its ends apart
        step = _cubic_minimum(bracket[0], bracket[1])
        step, insufficient = _away_from_ends(step, bracket[0][0], bracket[1][0], insufficient)
        new = at(step)
        tries += 1
        if not enough_decrease(new) or new[1] >= bracket[low][1]:
            bracket[high] = new
            low, high = (0, 1) if bracket[0][1] <= bracket[1][1] else (1, 0)
            continue
        if flat_enough(new):
            done = True
        elif new[3] * (bracket[high][0] - bracket[low][0]) >= 0:
            bracket[high] = bracket[low]  # keep the minimum between low and new
        bracket[low] = new
    return bracket[low], tries


def _away_from_ends(step, a, b, insufficient):
    """Keep a zoom step at least 10% of the bracket away from its ends: at the second try in a
    row that lands near an end (or a step outside), move it to that distance."""
    lo, hi = min(a, b), max(a, b)
    margin = 0.1 * (hi - lo)
    if not min(hi - step, step - lo) < margin:
        return step, False
    if insufficient or step >= hi or step <= lo:
        step = hi - margin if abs(step - hi) < abs(step - lo) else lo + margin
        return step, False
    return step, True


def _cubic_minimum(p1, p2, bounds=None):
    """The minimiser of the cubic through two points' values and slopes, clipped to ``bounds``
    (default: between the points); their midpoint if the cubic has no minimum."""
    (x1, f1, _, g1), (x2, f2, _, g2) = p1, p2
    lo, hi = bounds if bounds is not None else (min(x1, x2), max(x1, x2))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1 * d1 - g1 * g2
    if not d2_square >= 0:
        return (lo + hi) / 2.0
    d2 = np.sqrt(d2_square)
    if x1 <= x2:
        minimum = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        minimum = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(minimum, lo), hi)
