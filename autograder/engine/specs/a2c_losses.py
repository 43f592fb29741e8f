"""a2c_losses(log_probs, values, returns, entropy, value_coef, entropy_coef)
-> (policy_loss, value_loss, total), three 0-d tensors (lesson 5.6, A2C).

log_probs, values, returns, entropy: tensors of one shape (a rollout, (T, N) or flattened).
log_probs, values and entropy require grad (actor, critic, actor); returns are constants.
    advantages  = returns - values.detach()
    policy_loss = -(log_probs * advantages).mean()
    value_loss  = ((returns - values) ** 2).mean()
    total       = policy_loss + value_coef * value_loss - entropy_coef * entropy.mean()

`unpack` records the three losses and the gradients of `total` with respect to log_probs, values
and entropy (autograd of the returned total; zeros where it is not attached). The references
are autograd of the float64 formulas: d total / d values = 2 value_coef (values - returns) / n,
nothing from the policy loss, because the advantages are constants for the actor.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from autograder.engine.cases import EDGE, RANDOM, VISIBLE, Args, Case, Rng
from autograder.engine.spec import BugModel, ReturnError, Spec, describe
from autograder.engine.specs.common import add_probes, gradients, replace_arg

PARAMS = ("log_probs", "values", "returns", "entropy", "value_coef", "entropy_coef")
POLICY, VALUE, TOTAL = "policy_loss", "value_loss", "total"
G_LP, G_V, G_H = "dtotal/dlog_probs", "dtotal/dvalues", "dtotal/dentropy"
OUTPUTS = (POLICY, VALUE, TOTAL, G_LP, G_V, G_H)


def losses(
    case: Case,
    detach: bool = True,
    entropy_sign: float = -1.0,
    value_form: str = "square",
    use_value_coef: bool = True,
    weight: str = "advantage",
) -> dict[str, Tensor]:
    """The losses and gradients in float64; the keywords describe typical slips."""
    lp0, v0, r0, h0, value_coef, entropy_coef = case.args
    r = r0.detach().to(torch.float64)
    c_v = value_coef if use_value_coef else 1.0

    def parts(lp: Tensor, v: Tensor, h: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        adv = r - (v.detach() if detach else v)
        w = adv if weight == "advantage" else r
        policy = -(lp * w).mean()
        diff = r - v
        value = {"square": diff**2, "abs": diff.abs(), "plain": diff}[value_form].mean()
        return policy, value, policy + c_v * value + entropy_sign * entropy_coef * h.mean()

    leaves = [x.detach().to(torch.float64) for x in (lp0, v0, h0)]
    with torch.no_grad():
        policy, value, total = parts(*leaves)
    g_lp, g_v, g_h = gradients(lambda a, b, c: parts(a, b, c)[2], *leaves)
    return {POLICY: policy, VALUE: value, TOTAL: total, G_LP: g_lp, G_V: g_v, G_H: g_h}


def reference(case: Case) -> dict[str, Tensor]:
    return losses(case)


def _only(names: tuple[str, ...], **kw: Any) -> Any:
    return lambda c: {k: v for k, v in losses(c, **kw).items() if k in names}


BUGS = (
    BugModel(
        "advantage_not_detached",
        "receives a contribution from the policy loss: the advantages returns - values are not detached, so "
        "the actor's loss also trains the critic (pushing V to make advantages of likely actions large). "
        "Use advantages = returns - values.detach().",
        _only((G_V,), detach=False),
    ),
    BugModel(
        "entropy_sign",
        "has the wrong sign of the entropy term: total = policy_loss + value_coef * value_loss "
        "- entropy_coef * entropy.mean(). The bonus is SUBTRACTED, so minimising the total keeps the policy "
        "random for longer; adding it makes the policy collapse early.",
        _only((TOTAL, G_H), entropy_sign=1.0),
    ),
    BugModel(
        "value_loss_form",
        "is the mean absolute error: the critic's loss is the mean SQUARED error "
        "((returns - values) ** 2).mean().",
        _only((VALUE, TOTAL, G_V), value_form="abs"),
    ),
    BugModel(
        "value_loss_form",
        "is the mean of returns - values, not squared: square the error, or minimising it drives V up "
        "forever.",
        _only((VALUE, TOTAL, G_V), value_form="plain"),
    ),
    BugModel(
        "missing_value_coef",
        "adds the value loss with weight 1: multiply it by value_coef in the total.",
        _only((TOTAL, G_V), use_value_coef=False),
    ),
    BugModel(
        "returns_not_advantages",
        "weights the log-probabilities by the returns, not by the advantages returns - values.detach(): "
        "without the baseline the gradient is much noisier (and it is not A2C).",
        _only((POLICY, TOTAL, G_LP), weight="returns"),
    ),
)


def unpack(returned: Any, args: list[Any]) -> dict[str, Any]:
    if not isinstance(returned, tuple | list) or len(returned) != 3:
        hint = " (did you forget the `return` statement?)" if returned is None else ""
        raise ReturnError(
            f"returned {describe(returned)}{hint}, expected a tuple (policy_loss, value_loss, total)"
        )
    policy, value, total = returned
    lp, v, h = args[0], args[1], args[3]
    grads = [torch.zeros_like(x) for x in (lp, v, h)]
    if isinstance(total, Tensor) and total.requires_grad and total.grad_fn is not None:
        if total.numel() != 1:
            raise ReturnError(f"returned total as {describe(total)}, expected a single number (a 0-d tensor)")
        with torch.enable_grad():
            found = torch.autograd.grad(total.sum(), [lp, v, h], allow_unused=True)
        grads = [g if g is not None else z for g, z in zip(found, grads, strict=True)]

    def plain(x: Any) -> Any:
        return x.detach() if isinstance(x, Tensor) else x

    return {
        POLICY: plain(policy),
        VALUE: plain(value),
        TOTAL: plain(total),
        G_LP: grads[0],
        G_V: grads[1],
        G_H: grads[2],
    }


def make_case(
    seed: int,
    id: str,
    kind: str,
    shape: tuple[int, ...],
    value_coef: float,
    entropy_coef: float,
    about: str = "",
    dtype: torch.dtype = torch.float64,
) -> Case:
    rng = Rng(seed)
    lp = -rng.uniform(*shape, low=0.05, high=2.0)
    v = rng.normal(*shape, std=3.0) + 5.0
    r = rng.normal(*shape, std=4.0) + 6.0
    h = rng.uniform(*shape, low=0.1, high=0.69)
    lp, v, h = (x.to(dtype).requires_grad_(True) for x in (lp, v, h))
    args = (lp, v, r.to(dtype), h, value_coef, entropy_coef)
    n = 1
    for s in shape:
        n *= s
    dims = "x".join(map(str, shape))
    text = about or f"shape ({dims}), value_coef={value_coef:g}, entropy_coef={entropy_coef:g}"
    return Case(id, kind, args, text, {"n": n, "value_coef": value_coef, "entropy_coef": entropy_coef})


def random_cases() -> list[Case]:
    cases = []
    for i in range(10):
        rng = Rng(24000 + i)
        sizes = rng.distinct_sizes("TN", 2, 9)
        shape = (sizes["T"], sizes["N"]) if i % 2 == 0 else (sizes["T"] * sizes["N"],)
        value_coef = rng.choice([0.5, 0.25, 0.7])
        entropy_coef = rng.choice([0.01, 0.05, 0.1])
        cases.append(make_case(24050 + i, f"random-{i:02d}", RANDOM, shape, value_coef, entropy_coef))
    return cases


def _new(name: str) -> Any:
    def make(base: Case, rng: Rng) -> Args:
        lp, v, r, h, value_coef, entropy_coef = base.args
        shape = tuple(lp.shape)
        value: Any = {
            "log_probs": (-rng.uniform(*shape, low=0.1, high=3.0)).requires_grad_(True),
            "values": (rng.normal(*shape, std=2.0) - 3.0).requires_grad_(True),
            "returns": rng.normal(*shape, std=3.0) - 4.0,
            "entropy": rng.uniform(*shape, low=0.2, high=0.6).requires_grad_(True),
            "value_coef": 0.9 if value_coef != 0.9 else 0.8,
            "entropy_coef": 0.2 if entropy_coef != 0.2 else 0.3,
        }[name]
        return replace_arg(base.args, PARAMS, name, value)

    return make


def edge_cases() -> list[Case]:
    return [
        make_case(24100, "edge-one", EDGE, (1,), 0.5, 0.01, "a single step"),
        make_case(24101, "edge-no-entropy", EDGE, (6, 2), 0.5, 0.0, "entropy_coef = 0"),
        make_case(24102, "edge-value-coef-1", EDGE, (5, 3), 1.0, 0.01, "value_coef = 1"),
        make_case(24103, "edge-float32", EDGE, (8, 4), 0.5, 0.01, "float32 tensors", dtype=torch.float32),
        make_case(24104, "edge-large", EDGE, (128, 8), 0.5, 0.01, "a rollout of 128 steps x 8 envs"),
        make_case(24105, "edge-flat", EDGE, (40,), 0.25, 0.05, "a flattened rollout of 40"),
    ]


def hidden() -> list[Case]:
    randoms = random_cases()
    return randoms + add_probes(randoms[:1], {n: _new(n) for n in PARAMS}, seed=24500) + edge_cases()


def visible() -> list[Case]:
    return [
        make_case(24200, "visible-1", VISIBLE, (4,), 0.5, 0.01),
        make_case(24201, "visible-2", VISIBLE, (3, 2), 0.5, 0.05),
    ]


SPEC = Spec(
    name="a2c_losses",
    params=PARAMS,
    outputs=OUTPUTS,
    hidden=hidden,
    visible=visible,
    reference=reference,
    unpack=unpack,
    bug_models=BUGS,
    loose_shape=frozenset({POLICY, VALUE, TOTAL}),
    labels={
        POLICY: "policy_loss",
        VALUE: "value_loss",
        TOTAL: "total",
        G_LP: "the gradient of total with respect to log_probs",
        G_V: "the gradient of total with respect to values",
        G_H: "the gradient of total with respect to entropy",
    },
    hints={
        "wrong_values": "advantages = returns - values.detach(); "
        "policy_loss = -(log_probs * advantages).mean(); "
        "value_loss = ((returns - values) ** 2).mean(); total = policy_loss + value_coef * value_loss "
        "- entropy_coef * entropy.mean().",
        "scaled": "Every loss is a mean over all entries of the rollout (not a sum), without a factor 1/2.",
        "opposite_sign": "policy_loss has a minus sign (the optimiser minimises it, which ascends the "
        "expected return), and the entropy bonus is subtracted from the total.",
        "wrong_shape": "Each loss is a single number: a 0-dimensional tensor (a mean over all entries).",
        "bad_return": "Return the three losses as a tuple (policy_loss, value_loss, total).",
    },
)
