"""L-BFGS with PyTorch's algorithm, options and strong-Wolfe line search.

A port of PyTorch's ``torch/optim/lbfgs.py`` (BSD-3-Clause, (c) PyTorch contributors; itself
after Mark Schmidt's minFunc) to flat ``xp`` arrays: the same iteration, history update,
two-loop recursion, first-step size, stopping tests and line search, in the same order, so a
run gives PyTorch's numbers to rounding.
"""

from __future__ import annotations

import math

from glassnet.autograd.grad_mode import enable_grad, no_grad
from glassnet.backend import xp_of
from glassnet.optim.optimizer import Optimizer, check_hyper

__all__ = ["LBFGS"]


def _cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    """Minimiser of the cubic through (x1, f1, g1) and (x2, f2, g2), clipped to ``bounds``."""
    if bounds is not None:
        xmin_bound, xmax_bound = bounds
    else:
        xmin_bound, xmax_bound = (x1, x2) if x1 <= x2 else (x2, x1)
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1**2 - g1 * g2
    if d2_square >= 0:
        d2 = math.sqrt(d2_square)
        if x1 <= x2:
            min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        return min(max(min_pos, xmin_bound), xmax_bound)
    return (xmin_bound + xmax_bound) / 2.0


def _strong_wolfe(obj_func, x, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9,
                  max_ls=25):  # fmt: skip
    """Find t with f(x + t d) <= f + c1 t gtd and |g(x + t d) . d| <= c2 |gtd|
    (bracketing, then zoom by cubic interpolation); returns (f_new, g_new, t, evaluations)."""
    d_norm = float(abs(d).max())
    g = g.copy()
    f_new, g_new = obj_func(x, t, d)
    ls_func_evals = 1
    gtd_new = float(g_new @ d)
    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    done = False
    ls_iter = 0
    while ls_iter < max_ls:  # bracketing phase
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            break
        if gtd_new >= 0:
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        min_step = t + 0.01 * (t - t_prev)
        max_step = t * 10
        tmp = t
        t = _cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new,
                               bounds=(min_step, max_step))  # fmt: skip
        t_prev, f_prev, g_prev, gtd_prev = tmp, f_new, g_new.copy(), gtd_new
        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = float(g_new @ d)
        ls_iter += 1
    if ls_iter == max_ls:  # reached the maximum number of evaluations
        bracket, bracket_f, bracket_g = [0, t], [f, f_new], [g, g_new]

    insuf_progress = False
    low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:  # zoom phase
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = _cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0],
                               bracket[1], bracket_f[1], bracket_gtd[1])  # fmt: skip
        # guard against steps that are too close to the bracket's ends
        eps = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < eps:
            if insuf_progress or t >= max(bracket) or t <= min(bracket):
                if abs(t - max(bracket)) < abs(t - min(bracket)):
                    t = max(bracket) - eps
                else:
                    t = min(bracket) + eps
                insuf_progress = False
            else:
                insuf_progress = True
        else:
            insuf_progress = False
        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = float(g_new @ d)
        ls_iter += 1
        if f_new > (f + c1 * t * gtd) or f_new >= bracket_f[low_pos]:
            bracket[high_pos], bracket_f[high_pos] = t, f_new
            bracket_g[high_pos], bracket_gtd[high_pos] = g_new.copy(), gtd_new
            low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high_pos] - bracket[low_pos]) >= 0:
                bracket[high_pos], bracket_f[high_pos] = bracket[low_pos], bracket_f[low_pos]
                bracket_g[high_pos] = bracket_g[low_pos]
                bracket_gtd[high_pos] = bracket_gtd[low_pos]
            bracket[low_pos], bracket_f[low_pos] = t, f_new
            bracket_g[low_pos], bracket_gtd[low_pos] = g_new.copy(), gtd_new
    return bracket_f[low_pos], bracket_g[low_pos], bracket[low_pos], ls_func_evals


class LBFGS(Optimizer):
    r"""L-BFGS (Nocedal, 1980; Liu & Nocedal, 1989), PyTorch's ``torch.optim.LBFGS``.

    A quasi-Newton method for smooth, full-batch problems (small networks, style transfer,
    curve fitting): it builds an approximation of the inverse Hessian from the last
    ``history_size`` pairs (s, y) and needs a ``closure`` that re-evaluates the loss.

    Each ``step(closure)`` runs up to ``max_iter`` iterations on the flattened parameters::

        s_k = w_{k+1} - w_k,  y_k = g_{k+1} - g_k,  rho_k = 1 / (y_k . s_k)  (kept if > 1e-10)
        d = -H g  by the two-loop recursion, with H_0 = (y . s) / (y . y) I
        first iteration: d = -g, t = min(1, 1 / |g|_1) * lr;  later: t = lr
        w = w + t d   (t from the strong-Wolfe line search if line_search_fn="strong_wolfe")

    It stops when max|g| <= tolerance_grad, max|t d| <= tolerance_change, the loss changes
    by less than tolerance_change, after max_iter iterations or max_eval evaluations.

    Args:
        params: parameters (one group only, as in PyTorch).
        lr: step length scale (default 1).
        max_iter: iterations per ``step`` (default 20).
        max_eval: closure evaluations per ``step`` (default max_iter * 5 // 4).
        tolerance_grad, tolerance_change: the stopping tolerances above.
        history_size: how many (s, y) pairs to keep (default 100).
        line_search_fn: None or ``"strong_wolfe"``.

    Example:
        >>> import glassnet as gn
        >>> w = gn.nn.Parameter(gn.tensor([3.0, -2.0], dtype="float64"))
        >>> opt = gn.optim.LBFGS([w], line_search_fn="strong_wolfe")
        >>> def closure():
        ...     opt.zero_grad()
        ...     loss = ((w - gn.tensor([1.0, 2.0], dtype="float64")) ** 2).sum()
        ...     loss.backward()
        ...     return loss
        >>> _ = opt.step(closure)
        >>> w.numpy().round(6)
        array([1., 2.])
    """

    def __init__(self, params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7,
                 tolerance_change=1e-9, history_size=100, line_search_fn=None):  # fmt: skip
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = dict(lr=lr, max_iter=max_iter, max_eval=max_eval,
                        tolerance_grad=tolerance_grad, tolerance_change=tolerance_change,
                        history_size=history_size, line_search_fn=line_search_fn)  # fmt: skip
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError(
                "LBFGS doesn't support per-parameter options (parameter groups); pass one "
                "list of parameters"
            )
        self._params = self.param_groups[0]["params"]

    def validate(self, group: dict) -> None:
        super().validate(group)
        for key in ("max_iter", "max_eval", "history_size"):
            check_hyper("LBFGS", key, group[key], 1)
        if group["line_search_fn"] not in (None, "strong_wolfe"):
            raise ValueError(
                f"LBFGS: line_search_fn must be None or 'strong_wolfe', got "
                f"{group['line_search_fn']!r}"
            )

    # -- flat views of the parameters --------------------------------------------------------
    def _gather_flat_grad(self):
        xp = xp_of(self._params[0]._data)
        views = [
            xp.zeros(p._data.size, p._data.dtype) if p.grad is None else p.grad._data.reshape(-1)
            for p in self._params
        ]
        return xp.concatenate(views)

    def _add_grad(self, step_size, update) -> None:
        offset = 0
        for p in self._params:
            n = p._data.size
            p._data += (step_size * update[offset : offset + n]).reshape(p.shape).astype(p.dtype)
            p._vc[0] += 1
            offset += n

    def _directional_evaluate(self, closure, x, t, d):
        self._add_grad(t, d)
        loss = float(_call(closure))
        flat_grad = self._gather_flat_grad()
        for p, data in zip(self._params, x):
            p._data[...] = data
            p._vc[0] += 1
        return loss, flat_grad

    def step(self, closure=None):
        """One L-BFGS step: up to ``max_iter`` iterations; returns the closure's first loss."""
        if closure is None:
            raise TypeError(
                "LBFGS.step needs a closure that zeroes the grads, computes the loss, calls "
                "loss.backward() and returns the loss: opt.step(closure)"
            )
        with no_grad():
            return self._step(closure)

    def _step(self, closure):
        group = self.param_groups[0]
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tolerance_grad, tolerance_change = group["tolerance_grad"], group["tolerance_change"]
        line_search_fn, history_size = group["line_search_fn"], group["history_size"]

        state = self.state.get(self._params[0])
        if state is None:
            state = self.state[self._params[0]] = {"step": 0}
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)
        self.step_count += 1

        orig_loss = _call(closure)
        loss = float(orig_loss)
        current_evals = 1
        state["func_evals"] += 1
        flat_grad = self._gather_flat_grad()
        if float(abs(flat_grad).max()) <= tolerance_grad:  # already optimal
            return orig_loss

        d, t = state.get("d"), state.get("t")
        old_dirs, old_stps, ro = state.get("old_dirs"), state.get("old_stps"), state.get("ro")
        H_diag = state.get("H_diag")
        prev_flat_grad, prev_loss = state.get("prev_flat_grad"), state.get("prev_loss")

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            state["step"] = state["n_iter"]
            if state["n_iter"] == 1:
                d = -flat_grad
                old_dirs, old_stps, ro = [], [], []
                H_diag = 1
            else:
                y = flat_grad - prev_flat_grad
                s = d * t
                ys = float(y @ s)
                if ys > 1e-10:  # update the memory
                    if len(old_dirs) == history_size:
                        old_dirs.pop(0)
                        old_stps.pop(0)
                        ro.pop(0)
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)
                    H_diag = ys / float(y @ y)
                # two-loop recursion: d = -H g
                num_old = len(old_dirs)
                al = [None] * num_old
                q = -flat_grad
                for i in range(num_old - 1, -1, -1):
                    al[i] = float(old_stps[i] @ q) * ro[i]
                    q = q - al[i] * old_dirs[i]
                d = r = q * H_diag
                for i in range(num_old):
                    be_i = float(old_dirs[i] @ r) * ro[i]
                    r += (al[i] - be_i) * old_stps[i]
            prev_flat_grad = flat_grad.copy()
            prev_loss = loss
            if state["n_iter"] == 1:
                t = min(1.0, 1.0 / float(abs(flat_grad).sum())) * lr
            else:
                t = lr
            gtd = float(flat_grad @ d)  # directional derivative
            if gtd > -tolerance_change:
                break

            ls_func_evals = 0
            if line_search_fn is not None:
                x_init = [p._data.copy() for p in self._params]

                def obj_func(x, t, d):
                    return self._directional_evaluate(closure, x, t, d)

                loss, flat_grad, t, ls_func_evals = _strong_wolfe(
                    obj_func, x_init, t, d, loss, flat_grad, gtd, max_ls=max_eval - current_evals
                )
                self._add_grad(t, d)
                opt_cond = float(abs(flat_grad).max()) <= tolerance_grad
            else:
                self._add_grad(t, d)  # fixed step
                opt_cond = False
                if n_iter != max_iter:
                    loss = float(_call(closure))
                    flat_grad = self._gather_flat_grad()
                    opt_cond = float(abs(flat_grad).max()) <= tolerance_grad
                    ls_func_evals = 1
            current_evals += ls_func_evals
            state["func_evals"] += ls_func_evals

            if n_iter == max_iter or current_evals >= max_eval or opt_cond:
                break
            if float(abs(d * t).max()) <= tolerance_change:
                break
            if abs(loss - prev_loss) < tolerance_change:
                break

        state.update(d=d, t=t, old_dirs=old_dirs, old_stps=old_stps, ro=ro, H_diag=H_diag,
                     prev_flat_grad=prev_flat_grad, prev_loss=prev_loss)  # fmt: skip
        return orig_loss

    def state_dict(self) -> dict:
        """PyTorch's layout: the flat history lives under the first parameter (index 0)."""
        sd = super().state_dict()
        sd["state"] = {
            k: {n: _copy_nested(v) for n, v in st.items()} for k, st in sd["state"].items()
        }
        return sd

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore options and the flat history saved by :meth:`state_dict` (one group)."""
        saved = dict(state_dict)
        states = saved.get("state", {})
        super().load_state_dict({"state": {}, "param_groups": saved["param_groups"]})
        xp = xp_of(self._params[0]._data)
        for _, st in states.items():
            st = {k: _restore(v, xp) for k, v in st.items()}
            st["step"] = int(st.get("step", st.get("n_iter", 0)))
            self.state[self._params[0]] = st
            self.step_count = st["step"]


def _copy_nested(v):
    if isinstance(v, list):
        return [_copy_nested(item) for item in v]
    return v.copy() if hasattr(v, "copy") and hasattr(v, "shape") else v


def _restore(v, xp):
    if isinstance(v, list):
        return [_restore(item, xp) for item in v]
    if hasattr(v, "shape") and getattr(v, "ndim", 0) > 0:
        return xp.array(v._data if hasattr(v, "requires_grad") else v)
    if hasattr(v, "shape"):
        return float(v.item()) if hasattr(v, "item") else v
    return v


def _call(closure):
    with enable_grad():
        return closure()
