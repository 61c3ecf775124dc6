"""DEEP R: training under a fixed number of connections (Bellec et al. 2018).

Bellec, Kappel, Maass and Legenstein 2018, "Deep rewiring: training very sparse deep
networks", ICLR. Every synapse k has a fixed sign s_k and a parameter theta_k >= 0 while
it is *active*; its weight is w_k = s_k * theta_k. A *dormant* synapse has weight exactly
0 and receives no gradient. The user's optimizer updates the weights (so theta by
s_k times the weight's gradient); :meth:`DeepR.after_step`, called right after
``optimizer.step()``, then completes Bellec's update on the active synapses:

    theta_k <- theta_k - lr * l1 + sqrt(2 * lr * temperature) * nu_k,   nu_k ~ N(0, 1)

(an L1 shrink and the Langevin noise of the posterior's sampling), makes every active
synapse whose theta fell below 0 dormant (weight 0), and activates as many dormant
synapses, drawn uniformly at random, as keeps the number of active synapses exactly at
the budget. A new synapse starts at theta = 0 (weight 0: Bellec's epsilon taken to 0),
so that rewiring never changes what the network computes; it stays until its theta
falls below 0.

The budget is global across all parameters (Bellec's, which lets connections move
between layers) or one per parameter (``scope="tensor"``). Pure torch, vectorized over
synapses; the random draws come from one ``torch.Generator``.
"""

import math
from numbers import Integral, Real

import torch

SCOPES = ("global", "tensor")


class DeepRError(ValueError):
    """A DEEP R set-up that cannot work: a budget out of range, a sign that disagrees
    with a weight, a parameter that is not a floating-point tensor."""


class DeepR:
    """Rewiring of signed weights under a budget of connections.

    Parameters
    ----------
    parameters : dict {name: torch.nn.Parameter} or sequence of Parameters
        The signed weights (any shapes). Their current values set the initial
        connections: a synapse is active when its weight has its sign (nonzero).
    connections : int, sequence or dict of ints, optional
        The budget of active synapses: one int for the global budget; with
        ``scope="tensor"`` one int per parameter (a sequence in order, or a dict by
        name), or one int for every parameter.
    fraction : float in (0, 1], optional
        The budget as a fraction of the synapses (of all parameters, or of each one
        with ``scope="tensor"``), rounded to the nearest whole synapse. Give exactly
        one of `connections` and `fraction`.
    scope : "global" or "tensor"
        One budget across all parameters (Bellec's global budget) or one per parameter.
    l1 : float
        L1 shrink per step, in units of the weight per unit learning rate (theta falls
        by ``lr * l1`` at every step).
    temperature : float
        Temperature T of the Langevin noise: each active theta gets Gaussian noise of
        standard deviation sqrt(2 lr T) per step, in units of the weight.
    lr : float
        The optimizer's learning rate (sets the size of the shrink and of the noise).
    signs : dict or sequence of tensors of +1/-1, optional
        The fixed sign of every synapse (by name or in order). Default: the sign of the
        initial weight, and a random sign where that weight is 0.
    seed : int or torch.Generator
        Seed of the random signs, the initial choice of connections and the rewiring.
    optimizer : torch.optim.Optimizer, optional
        When given, its per-element state (Adam's moments, SGD's momentum) is cleared
        at every synapse that is rewired, so a new synapse starts without the history
        of the one that held its place before.

    Attributes
    ----------
    signs : list of tensors of +1.0/-1.0 (the fixed signs, shaped like the parameters)
    masks : list of bool tensors (True where a synapse is active)
    rewired : int, the number of synapses activated by the last :meth:`after_step`
    """

    def __init__(self, parameters, connections=None, fraction=None, scope="global", l1=0.0,
                 temperature=0.0, lr=1e-3, signs=None, seed=0, optimizer=None):
        self.names, self.parameters = _named(parameters)
        if scope not in SCOPES:
            raise DeepRError(f"DeepR: scope must be one of {SCOPES}, got {scope!r}")
        for label, value in (("l1", l1), ("temperature", temperature), ("lr", lr)):
            if not isinstance(value, Real) or not math.isfinite(value) or value < 0:
                raise DeepRError(f"DeepR: {label} must be a finite number >= 0, got {value!r}")
        self.scope, self.l1, self.temperature, self.lr = scope, float(l1), float(temperature), \
            float(lr)
        self.optimizer = optimizer
        self.generator = seed if isinstance(seed, torch.Generator) else \
            torch.Generator().manual_seed(int(seed))
        self.signs = self._signs(signs)
        self.sizes = [p.numel() for p in self.parameters]
        self.budgets = self._budgets(connections, fraction)
        self.masks = [torch.zeros_like(p, dtype=torch.bool) for p in self.parameters]
        self.rewired = 0
        with torch.no_grad():
            thetas = [s * p for s, p in zip(self.signs, self.parameters)]
            self._select_initial(thetas)
            self._write(thetas)
        self._hooks = [p.register_hook(lambda grad, mask=mask: grad * mask)
                       for p, mask in zip(self.parameters, self.masks)]

    # ------------------------------------------------------------------ set-up
    def _signs(self, signs):
        if signs is None:
            out = []
            for p in self.parameters:
                random = torch.randint(0, 2, p.shape, generator=self.generator) * 2.0 - 1.0
                sign = torch.sign(p.detach())
                out.append(torch.where(sign == 0, random.to(p.dtype), sign))
            return out
        given = [signs[name] for name in self.names] if isinstance(signs, dict) else list(signs)
        if len(given) != len(self.parameters):
            raise DeepRError(f"DeepR: {len(given)} sign tensors for {len(self.parameters)} "
                             f"parameters; give one per parameter")
        out = []
        for name, p, sign in zip(self.names, self.parameters, given):
            sign = torch.as_tensor(sign, dtype=p.dtype)
            if sign.shape != p.shape or not bool(torch.all(sign.abs() == 1)):
                raise DeepRError(f"DeepR: the signs of parameter '{name}' must be a tensor of "
                                 f"+1/-1 shaped {tuple(p.shape)}, got shape "
                                 f"{tuple(sign.shape)} with values "
                                 f"{sorted(set(sign.flatten().tolist()))[:4]}")
            wrong = (torch.sign(p.detach()) * sign) < 0
            if bool(wrong.any()):
                index = tuple(int(i) for i in torch.nonzero(wrong)[0])
                raise DeepRError(f"DeepR: parameter '{name}' has {int(wrong.sum())} weights "
                                 f"whose sign differs from the declared one, e.g. at {index}: "
                                 f"weight {float(p.detach()[index]):g}, sign "
                                 f"{int(sign[index]):+d}. Fix the signs, or set those weights "
                                 f"to 0 or to the declared sign")
            out.append(sign)
        return out

    def _budgets(self, connections, fraction):
        """Budget per group: [total] (global) or one per parameter."""
        if (connections is None) == (fraction is None):
            raise DeepRError("DeepR: give exactly one of connections= (a number of synapses) "
                             "and fraction= (a fraction of them)")
        groups = [sum(self.sizes)] if self.scope == "global" else list(self.sizes)
        labels = ["all parameters"] if self.scope == "global" else \
            [f"parameter '{name}'" for name in self.names]
        if fraction is not None:
            if not isinstance(fraction, Real) or not 0 < fraction <= 1:
                raise DeepRError(f"DeepR: fraction must lie in (0, 1], got {fraction!r}")
            budgets = [int(round(fraction * size)) for size in groups]
        elif isinstance(connections, dict):
            if self.scope != "tensor" or set(connections) != set(self.names):
                raise DeepRError(f"DeepR: a dict of connections needs scope='tensor' and one "
                                 f"entry per parameter ({', '.join(self.names)}); got "
                                 f"{', '.join(map(str, connections))}")
            budgets = [connections[name] for name in self.names]
        elif isinstance(connections, (list, tuple)):
            if self.scope != "tensor" or len(connections) != len(self.names):
                raise DeepRError(f"DeepR: a sequence of connections needs scope='tensor' and "
                                 f"one entry per parameter ({len(self.names)}); got "
                                 f"{len(connections)}")
            budgets = list(connections)
        else:
            budgets = [connections] * len(groups)
        for label, budget, size in zip(labels, budgets, groups):
            if isinstance(budget, bool) or not isinstance(budget, Integral):
                raise DeepRError(f"DeepR: the budget of {label} must be a whole number of "
                                 f"synapses, got {budget!r}")
            if budget < 1:
                raise DeepRError(f"DeepR: the budget of {label} is {budget} synapses; it must "
                                 f"be at least 1. Use a larger fraction or more connections")
            if budget > size:
                raise DeepRError(f"DeepR: the budget of {label} is {budget} synapses, but "
                                 f"there are only {size}. Use at most {size} connections or "
                                 f"fraction <= 1")
        return [int(b) for b in budgets]

    def _groups(self, tensors):
        """Flat tensors, one per budget group (all parameters together when global)."""
        flat = [t.reshape(-1) for t in tensors]
        return [torch.cat(flat)] if self.scope == "global" else flat

    def _ungroup(self, groups):
        """Inverse of :meth:`_groups`: tensors shaped like the parameters."""
        flat = torch.split(groups[0], self.sizes) if self.scope == "global" else groups
        return [f.reshape(p.shape) for f, p in zip(flat, self.parameters)]

    def _select_initial(self, thetas):
        """Active = theta > 0; then a random subset of them down to the budget, or random
        dormant synapses (theta 0) added up to it."""
        masks = []
        for theta, budget in zip(self._groups(thetas), self.budgets):
            active = theta > 0
            n = int(active.sum())
            if n > budget:
                candidates = torch.nonzero(active).flatten()
                keep = candidates[torch.randperm(n, generator=self.generator)[:budget]]
                active = torch.zeros_like(active)
                active[keep] = True
            masks.append(active)
        masks = self._ungroup(masks)
        for mask, new in zip(self.masks, masks):
            mask.copy_(new)
        self.rewired = 0
        self._activate(thetas)

    # ------------------------------------------------------------------ the step
    def after_step(self):
        """Bellec's update after ``optimizer.step()``: shrink and noise on the active
        synapses, dormant below theta = 0, random new synapses up to the budget."""
        with torch.no_grad():
            thetas = []
            for p, sign, mask in zip(self.parameters, self.signs, self.masks):
                theta = sign * p
                if self.l1:
                    theta = theta - self.lr * self.l1
                if self.temperature:
                    noise = torch.randn(p.shape, generator=self.generator, dtype=p.dtype)
                    theta = theta + math.sqrt(2 * self.lr * self.temperature) * noise
                mask &= theta >= 0
                thetas.append(theta)
            self._activate(thetas)
            self._write(thetas)

    def _activate(self, thetas):
        """Activate random dormant synapses (theta 0) until every group is at its budget."""
        changed = []
        groups = self._groups(self.masks)
        for mask, budget in zip(groups, self.budgets):
            missing = budget - int(mask.sum())
            new = torch.zeros_like(mask)
            if missing > 0:
                dormant = torch.nonzero(~mask).flatten()
                pick = dormant[torch.randperm(dormant.numel(), generator=self.generator)[:missing]]
                new[pick] = True
            changed.append(new)
        changed = self._ungroup(changed)
        self.rewired = sum(int(c.sum()) for c in changed)
        for mask, theta, new in zip(self.masks, thetas, changed):
            mask |= new
            theta[new] = 0.0
        if self.optimizer is not None and self.rewired:
            self._clear_optimizer_state(changed)

    def _clear_optimizer_state(self, changed):
        for p, new in zip(self.parameters, changed):
            for value in self.optimizer.state.get(p, {}).values():
                if torch.is_tensor(value) and value.shape == p.shape:
                    value[new] = 0

    def _write(self, thetas):
        """Weights = sign * theta on active synapses, exactly 0 on dormant ones."""
        for p, sign, mask, theta in zip(self.parameters, self.signs, self.masks, thetas):
            p.copy_(torch.where(mask, sign * theta, torch.zeros_like(theta)))

    # ------------------------------------------------------------------ reading
    @property
    def active(self):
        """Active synapses per parameter: {name: int}."""
        return {name: int(mask.sum()) for name, mask in zip(self.names, self.masks)}

    @property
    def n_active(self):
        """Active synapses in all parameters."""
        return sum(int(mask.sum()) for mask in self.masks)

    @property
    def connectivity(self):
        """Active synapses as a fraction of all synapses of the parameters."""
        return self.n_active / sum(self.sizes)

    def remove(self):
        """Remove the gradient masks from the parameters (the weights stay as they are)."""
        for hook in self._hooks:
            hook.remove()
        self._hooks = []


def _named(parameters):
    """(names, tensors) of a dict or a sequence of parameters, checked."""
    if isinstance(parameters, dict):
        names, tensors = [str(k) for k in parameters], list(parameters.values())
    elif isinstance(parameters, torch.Tensor):
        names, tensors = ["0"], [parameters]
    else:
        tensors = list(parameters)
        names = [str(i) for i in range(len(tensors))]
    if not tensors:
        raise DeepRError("DeepR: no parameters given; pass a dict or a list of weight tensors")
    for name, p in zip(names, tensors):
        if not isinstance(p, torch.Tensor) or not p.is_floating_point() or not p.requires_grad \
                or not p.is_leaf:
            raise DeepRError(f"DeepR: parameter '{name}' must be a floating-point leaf tensor "
                             f"that requires grad (a torch.nn.Parameter), got "
                             f"{type(p).__name__}"
                             + (f" of {p.dtype}, requires_grad={p.requires_grad}"
                                if isinstance(p, torch.Tensor) else ""))
    return names, tensors
