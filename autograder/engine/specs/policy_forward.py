"""policy_forward(model, x) -> (p, h): h = relu(W1 @ x), p = sigmoid(W2 @ h).

model['W1'] (H, D), model['W2'] (H,), x (D,); p is the probability of action UP.
"""

from __future__ import annotations

from dataclasses import replace

import torch
from torch import Tensor

from autograder.engine.cases import EDGE, RANDOM, VISIBLE, Args, Case, Rng, as64
from autograder.engine.spec import BugModel, Spec, unpack_tuple
from autograder.engine.specs.common import add_probes, replace_arg

PARAMS = ("model", "x")


def forward(case: Case, relu: bool = True, sigmoid: bool = True) -> dict[str, Tensor]:
    """float64 (p, h); the switches describe typical slips."""
    model, x = as64(case.args)
    z = model["W1"] @ x
    h = torch.relu(z) if relu else z
    logit = model["W2"] @ h
    return {"p": torch.sigmoid(logit) if sigmoid else logit, "h": h}


def reference(case: Case) -> dict[str, Tensor]:
    return forward(case)


BUGS = (
    BugModel(
        "missing_relu",
        "matches the network without the ReLU: h = relu(W1 @ x) has no negative entries.",
        lambda c: forward(c, relu=False),
    ),
    BugModel(
        "missing_sigmoid",
        "is the logit W2 @ h, not a probability: apply the sigmoid.",
        lambda c: {"p": forward(c, sigmoid=False)["p"]},
    ),
    BugModel(
        "complement",
        "is 1 - p, the probability of DOWN: return the probability of UP, sigmoid(W2 @ h).",
        lambda c: {"p": 1.0 - forward(c)["p"]},
    ),
)


def make_case(rng: Rng, id: str, kind: str, D: int, H: int, about: str = "", density: float = 0.3) -> Case:
    model = {"W1": rng.normal(H, D, std=D**-0.5), "W2": rng.normal(H, std=H**-0.5)}
    x = rng.sparse_sign(D, density=density)
    return Case(id, kind, (model, x), about or f"D={D}, H={H}", {"D": D, "H": H})


def random_cases() -> list[Case]:
    cases = []
    for i in range(10):
        rng = Rng(7000 + i)
        cases.append(make_case(rng, f"random-{i:02d}", RANDOM, rng.integer(6, 40), rng.integer(3, 12)))
    return cases


def _new_x(base: Case, rng: Rng) -> Args:
    return replace_arg(base.args, PARAMS, "x", rng.sparse_sign(*base.args[1].shape, density=0.5))


def _new_model(base: Case, rng: Rng) -> Args:
    model = {k: rng.normal(*v.shape, std=float(v.std())) for k, v in base.args[0].items()}
    return replace_arg(base.args, PARAMS, "model", model)


def edge_cases() -> list[Case]:
    dead = make_case(
        Rng(7100), "edge-all-inactive", EDGE, 12, 5, "every hidden unit inactive: h = 0, p = 0.5"
    )
    model, x = dead.args
    dead = replace(dead, args=({"W1": -model["W1"].abs(), "W2": model["W2"]}, x.abs()))
    sat = make_case(Rng(7101), "edge-saturated", EDGE, 20, 6, "a saturated output, p close to 0 or 1", 0.6)
    model, x = sat.args
    sat = replace(sat, args=({"W1": model["W1"], "W2": model["W2"] * 30.0}, x))
    zero = make_case(Rng(7102), "edge-zero-x", EDGE, 10, 4, "x = 0 (no change between frames)")
    zero = replace(zero, args=(zero.args[0], torch.zeros(10, dtype=torch.float64)))
    f32 = make_case(Rng(7103), "edge-float32", EDGE, 15, 7, "float32 model and input")
    f32 = replace(f32, args=({k: v.float() for k, v in f32.args[0].items()}, f32.args[1].float()))
    return [
        dead,
        sat,
        zero,
        f32,
        make_case(Rng(7104), "edge-H1", EDGE, 9, 1, "a single hidden unit (H=1)"),
        make_case(Rng(7105), "edge-D1", EDGE, 1, 4, "a single input (D=1)", density=1.0),
        make_case(Rng(7106), "edge-pong", EDGE, 6400, 200, "the real sizes D=6400, H=200", density=0.01),
    ]


def hidden() -> list[Case]:
    randoms = random_cases()
    probes = add_probes(randoms[:2], {"x": _new_x, "model": _new_model}, seed=7500)
    return randoms + probes + edge_cases()


def visible() -> list[Case]:
    return [
        make_case(Rng(7200), "visible-1", VISIBLE, 5, 3),
        make_case(Rng(7201), "visible-2", VISIBLE, 8, 4),
    ]


SPEC = Spec(
    name="policy_forward",
    params=PARAMS,
    outputs=("p", "h"),
    hidden=hidden,
    visible=visible,
    reference=reference,
    unpack=unpack_tuple("p", "h"),
    loose_shape=frozenset({"p"}),
    bug_models=BUGS,
    hints={"wrong_shape": "h has shape (H,); p is one number (shape () or (1,))."},
)
