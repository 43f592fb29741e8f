"""reinforce_loss(log_probs, returns, normalize) -> the REINFORCE surrogate loss, a 0-d tensor
(lesson 5.5).

log_probs (T,): log pi(a_t | s_t) of the actions taken (requires grad), returns (T,): the
returns-to-go G_t (constants), normalize: bool. With A = returns, or, when normalize is True,
A = (returns - returns.mean()) / (returns.std() + 1e-8) (torch's default, unbiased std),
L = -mean_t(log_probs[t] * A[t]). Minimising L ascends the policy-gradient estimate.

`unpack` records the loss, its gradient with respect to log_probs (autograd of the returned
loss; zeros when it is not attached, with `graph` = 0) and whether the loss reaches `returns`
through the graph (`returns_graph`, 1: it does; in the cases where returns requires grad).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from autograder.engine.cases import EDGE, RANDOM, VISIBLE, Args, Case, Rng
from autograder.engine.spec import BugModel, ReturnError, Spec, describe
from autograder.engine.specs.common import add_probes, gradients, replace_arg

PARAMS = ("log_probs", "returns", "normalize")
LOSS = "loss"
GRAD = "dloss/dlog_probs"
GRAPH = "graph"
RGRAPH = "returns_graph"
OUTPUTS = (LOSS, GRAD, GRAPH, RGRAPH)
EPS = 1e-8


def weights(case: Case, norm: str = "right") -> Tensor:
    """The advantages A in float64. norm: 'right' (follow the flag), 'never', 'always',
    'biased' (population std), 'center' (mean only), 'scale' (std only), 'no_eps'."""
    g = case.args[1].detach().to(torch.float64)
    normalize = bool(case.args[2])
    if norm == "never" or (not normalize and norm != "always"):
        return g
    if norm == "center":
        return g - g.mean()
    if norm == "scale":
        return g / (g.std() + EPS)
    std = g.std(unbiased=False) if norm == "biased" else g.std()
    return (g - g.mean()) / (std if norm == "no_eps" else std + EPS)


def values(case: Case, sign: float = -1.0, reduce: str = "mean", norm: str = "right") -> dict[str, Tensor]:
    a = weights(case, norm)

    def loss(lp: Tensor) -> Tensor:
        terms = sign * lp * a
        return terms.mean() if reduce == "mean" else terms.sum()

    lp = case.args[0].detach().to(torch.float64)
    with torch.no_grad():
        value = loss(lp)
    (grad,) = gradients(loss, lp)
    return {LOSS: value, GRAD: grad}


def reference(case: Case) -> dict[str, Tensor]:
    one, zero = torch.tensor(1.0, dtype=torch.float64), torch.tensor(0.0, dtype=torch.float64)
    return {**values(case), GRAPH: one, RGRAPH: zero}


BUGS = (
    BugModel(
        "gradient_ascent_sign",
        "has the opposite sign: it is +mean(log_probs * A), the objective itself. An optimiser MINIMISES the "
        "loss, so minimising this makes the actions with high returns LESS likely (the agent gets worse, "
        "like the Pong agent that descended for 10,000 episodes). Return -(log_probs * A).mean().",
        lambda c: values(c, sign=1.0),
    ),
    BugModel(
        "ignores_normalize",
        "ignores normalize=True: standardise the returns first, A = (returns - mean) / (std + 1e-8).",
        lambda c: values(c, norm="never") if bool(c.args[2]) else {},
    ),
    BugModel(
        "ignores_normalize",
        "standardises the returns although normalize is False: use the raw returns then.",
        lambda c: values(c, norm="always") if not bool(c.args[2]) else {},
    ),
    BugModel(
        "normalisation",
        "standardises with the population std (unbiased=False): use returns.std(), torch's default "
        "(unbiased) standard deviation, plus 1e-8.",
        lambda c: values(c, norm="biased") if bool(c.args[2]) else {},
    ),
    BugModel(
        "normalisation",
        "only subtracts the mean of the returns: also divide by (returns.std() + 1e-8).",
        lambda c: values(c, norm="center") if bool(c.args[2]) else {},
    ),
    BugModel(
        "normalisation",
        "only divides by the std of the returns: subtract their mean too, "
        "A = (returns - returns.mean()) / (returns.std() + 1e-8).",
        lambda c: values(c, norm="scale") if bool(c.args[2]) else {},
    ),
    BugModel(
        "gradient_into_returns",
        "is 1: your loss backpropagates into `returns`. The returns (or advantages) are constants that "
        "weight the log-probabilities; detach them (returns.detach()) before using them.",
        lambda c: {RGRAPH: torch.tensor(1.0, dtype=torch.float64)},
        near_miss=False,
    ),
    BugModel(
        "detached",
        "is 0: the loss is not attached to log_probs (a .item(), .detach(), torch.tensor(...) or "
        "torch.no_grad() in the way), so loss.backward() cannot train the policy.",
        lambda c: {GRAPH: torch.tensor(0.0, dtype=torch.float64)},
        near_miss=False,
    ),
)


def unpack(returned: Any, args: list[Any]) -> dict[str, Any]:
    if returned is None:
        raise ReturnError("returned None: did you forget the `return` statement?")
    if not isinstance(returned, Tensor):
        raise ReturnError(
            f"returned {describe(returned)}, expected a 0-dimensional tensor (.item() turns the loss into a "
            "number that cannot be backpropagated)"
        )
    lp, g = args[0], args[1]
    grad = torch.zeros_like(lp)
    attached = returned.requires_grad and returned.grad_fn is not None
    into_returns = False
    if attached:
        if returned.numel() != 1:
            raise ReturnError(f"returned {describe(returned)}, expected a single number (a 0-d tensor)")
        inputs = [lp] + ([g] if isinstance(g, Tensor) and g.requires_grad else [])
        with torch.enable_grad():
            found = torch.autograd.grad(returned.sum(), inputs, allow_unused=True)
        if found[0] is not None:
            grad = found[0]
        else:
            attached = False
        if len(found) > 1 and found[1] is not None:
            into_returns = True
    return {
        LOSS: returned.detach(),
        GRAD: grad,
        GRAPH: torch.tensor(1.0 if attached else 0.0, dtype=torch.float64),
        RGRAPH: torch.tensor(1.0 if into_returns else 0.0, dtype=torch.float64),
    }


def make_case(
    seed: int,
    id: str,
    kind: str,
    T: int,
    normalize: bool,
    about: str = "",
    dtype: torch.dtype = torch.float64,
    returns_grad: bool = False,
    constant: bool = False,
) -> Case:
    rng = Rng(seed)
    lp = (-rng.uniform(T, low=0.05, high=2.5)).to(dtype).requires_grad_(True)
    if constant:
        g = torch.full((T,), 7.0, dtype=torch.float64)
    else:
        g = rng.choice([rng.normal(T, std=4.0) + 2.0, torch.linspace(float(T), 1.0, T, dtype=torch.float64)])
    g = g.to(dtype).requires_grad_(returns_grad)
    text = about or f"T={T}, normalize={normalize}"
    if returns_grad and not about:
        text += ", returns requires grad"
    return Case(id, kind, (lp, g, normalize), text, {"T": T})


def random_cases() -> list[Case]:
    cases = []
    for i in range(12):
        rng = Rng(22000 + i)
        T = rng.integer(3, 40)
        cases.append(make_case(22050 + i, f"random-{i:02d}", RANDOM, T, normalize=i % 2 == 1))
    return cases


def _new(name: str) -> Any:
    def make(base: Case, rng: Rng) -> Args:
        lp, g, normalize = base.args
        T = lp.shape[0]
        value: Any = {
            "log_probs": (-rng.uniform(T, low=0.1, high=3.0)).requires_grad_(True),
            "returns": rng.normal(T, std=3.0) - 1.0,
            "normalize": not normalize,
        }[name]
        return replace_arg(base.args, PARAMS, name, value)

    return make


def edge_cases() -> list[Case]:
    return [
        make_case(22100, "edge-T1", EDGE, 1, False, "one step, normalize=False"),
        make_case(22101, "edge-T2-norm", EDGE, 2, True, "two steps, normalize=True"),
        make_case(
            22102, "edge-equal-returns", EDGE, 6, True, "all returns equal, normalize=True", constant=True
        ),
        make_case(22103, "edge-float32", EDGE, 9, False, "float32, normalize=False", dtype=torch.float32),
        make_case(22104, "edge-float32-norm", EDGE, 11, True, "float32, normalize=True", dtype=torch.float32),
        make_case(22105, "edge-long", EDGE, 200, True, "T=200, normalize=True"),
        make_case(22106, "edge-returns-grad", EDGE, 7, False, returns_grad=True),
        make_case(22107, "edge-returns-grad-norm", EDGE, 8, True, returns_grad=True),
    ]


def hidden() -> list[Case]:
    randoms = random_cases()
    return randoms + add_probes(randoms[:2], {n: _new(n) for n in PARAMS}, seed=22500) + edge_cases()


def visible() -> list[Case]:
    return [
        make_case(22200, "visible-1", VISIBLE, 4, False),
        make_case(22201, "visible-2", VISIBLE, 5, True),
        make_case(22202, "visible-3", VISIBLE, 6, False, returns_grad=True),
    ]


SPEC = Spec(
    name="reinforce_loss",
    params=PARAMS,
    outputs=OUTPUTS,
    hidden=hidden,
    visible=visible,
    reference=reference,
    unpack=unpack,
    bug_models=BUGS,
    loose_shape=frozenset({LOSS}),
    probe_outputs=frozenset({LOSS, GRAD}),
    labels={
        LOSS: "the loss",
        GRAD: "the gradient of your loss with respect to log_probs",
        GRAPH: "whether the loss is attached to log_probs (1: yes)",
        RGRAPH: "whether the loss backpropagates into returns (1: yes)",
    },
    hints={
        "wrong_values": "L = -(log_probs * A).mean() with A = returns, or the standardised returns "
        "(returns - returns.mean()) / (returns.std() + 1e-8) when normalize is True.",
        "scaled": "Take the mean over the T steps (not the sum), without any other factor.",
        "opposite_sign": "The loss is MINUS the mean of log_probs * A: the optimiser minimises it, which "
        "ascends the expected return. With the plus sign the agent learns to avoid good actions.",
        "wrong_shape": "Return a single number: a 0-dimensional tensor (the mean over the episode).",
        "not_finite": "With normalize=True, divide by (returns.std() + 1e-8): when all returns are equal the "
        "std is 0.",
    },
)
