"""policy_backward(model, epx, eph, epdlogp) -> {'W1': (H, D), 'W2': (H,)}, by hand.

The gradient of sum_t epdlogp[t] * logit_t, where logit_t = W2 @ relu(W1 @ epx[t]) and
eph[t] = relu(W1 @ epx[t]) are the hidden activations of the episode (T steps).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import torch
from torch import Tensor

from autograder.engine.cases import EDGE, RANDOM, VISIBLE, Args, Case, Rng, as64
from autograder.engine.spec import BugModel, Spec, unpack_dict
from autograder.engine.specs.common import add_probes, gradients

PARAMS = ("model", "epx", "eph", "epdlogp")
KEYS = ("W1", "W2")
OUTPUTS = ("grad['W1']", "grad['W2']")  # names of the returned dict's entries in messages


def reference(case: Case) -> dict[str, Tensor]:
    """Autograd on the forward computation (eph is recomputed, not trusted)."""
    model, epx, _, epdlogp = as64(case.args)

    def objective(W1: Tensor, W2: Tensor) -> Tensor:
        return (epdlogp * (torch.relu(epx @ W1.T) @ W2)).sum()

    dW1, dW2 = gradients(objective, model["W1"], model["W2"])
    return {OUTPUTS[0]: dW1, OUTPUTS[1]: dW2}


def without_mask(case: Case) -> dict[str, Tensor]:
    model, epx, _, epdlogp = as64(case.args)
    return {OUTPUTS[0]: torch.outer(epdlogp, model["W2"]).T @ epx}


BUGS = (
    BugModel(
        "missing_relu_mask",
        "is right where the hidden unit is active but not zero where the ReLU was inactive (eph[t, i] == 0): "
        "set dh to 0 there before computing the gradient of W1.",
        without_mask,
    ),
)


def episode(
    rng: Rng, T: int, D: int, H: int, density: float = 0.3, dtype: torch.dtype = torch.float64
) -> tuple[dict[str, Tensor], Tensor, Tensor, Tensor]:
    """A consistent episode: difference-frame inputs, eph = relu(epx @ W1.T), and
    advantage-modulated gradients epdlogp."""
    model = {"W1": rng.normal(H, D, std=D**-0.5), "W2": rng.normal(H, std=H**-0.5)}
    epx = rng.sparse_sign(T, D, density=density)
    epdlogp = rng.normal(T)
    return _consistent(model, epx, epdlogp, dtype)


def _consistent(
    model: dict[str, Tensor], epx: Tensor, epdlogp: Tensor, dtype: torch.dtype = torch.float64
) -> tuple[dict[str, Tensor], Tensor, Tensor, Tensor]:
    eph = torch.relu(epx @ model["W1"].T)
    return {k: v.to(dtype) for k, v in model.items()}, epx.to(dtype), eph.to(dtype), epdlogp.to(dtype)


def make_case(seed: int, id: str, kind: str, T: int, D: int, H: int, about: str = "", **kw: object) -> Case:
    args = episode(Rng(seed), T, D, H, **kw)
    return Case(id, kind, args, about or f"T={T}, D={D}, H={H}", {"T": T, "D": D, "H": H})


def random_cases() -> list[Case]:
    cases = []
    for i in range(10):
        sizes = Rng(8000 + i).distinct_sizes("TDH", 3, 30)
        cases.append(make_case(8050 + i, f"random-{i:02d}", RANDOM, **sizes))
    return cases


def _scaled_rows(base: Case, rng: Rng) -> Args:
    """Each frame scaled by a positive factor: the ReLU pattern stays, the gradient changes."""
    model, epx, _, epdlogp = base.args
    scale = rng.uniform(epx.shape[0], 1, low=0.5, high=2.0)
    return _consistent(model, epx * scale, epdlogp)


def _new_epdlogp(base: Case, rng: Rng) -> Args:
    model, epx, eph, epdlogp = base.args
    return model, epx, eph, rng.normal(*epdlogp.shape)


def _new_model(base: Case, rng: Rng) -> Args:
    """A new W2, and W1 with rows scaled by positive factors (eph recomputed to match)."""
    model, epx, _, epdlogp = base.args
    W1 = model["W1"] * rng.uniform(model["W1"].shape[0], 1, low=0.5, high=2.0)
    return _consistent({"W1": W1, "W2": rng.normal(*model["W2"].shape)}, epx, epdlogp)


PROBES = {"epx": _scaled_rows, "epdlogp": _new_epdlogp, "model": _new_model}


def edge_cases() -> list[Case]:
    dead = make_case(8100, "edge-dead-unit", EDGE, 6, 8, 4, "hidden unit 0 inactive at every step")
    model, epx, _, epdlogp = dead.args
    W1 = model["W1"].clone()
    W1[0] = -W1[0].abs() - 0.05
    dead = replace(dead, args=_consistent({"W1": W1, "W2": model["W2"]}, epx.abs(), epdlogp))
    still = make_case(8101, "edge-still-frames", EDGE, 8, 10, 5, "frames without change (rows of epx = 0)")
    model, epx, _, epdlogp = still.args
    epx = epx.clone()
    epx[::2] = 0.0
    still = replace(still, args=_consistent(model, epx, epdlogp))
    quiet = make_case(8102, "edge-zero-advantage", EDGE, 5, 7, 3, "epdlogp = 0: the gradient is zero")
    model, epx, eph, epdlogp = quiet.args
    quiet = replace(quiet, args=(model, epx, eph, torch.zeros_like(epdlogp)))
    return [
        make_case(8103, "edge-T1", EDGE, 1, 9, 4, "a one-step episode (T=1)"),
        make_case(8104, "edge-H1", EDGE, 7, 6, 1, "a single hidden unit (H=1)"),
        dead,
        still,
        quiet,
        make_case(8105, "edge-float32", EDGE, 6, 11, 5, "float32 tensors", dtype=torch.float32),
        make_case(8106, "edge-large", EDGE, 4, 1600, 12, "larger frames: T=4, D=1600, H=12", density=0.05),
        make_case(8107, "edge-odd", EDGE, 9, 13, 7, "odd sizes T=9, D=13, H=7"),
    ]


def hidden() -> list[Case]:
    randoms = random_cases()
    return randoms + add_probes(randoms[:2], PROBES, seed=8500) + edge_cases()


def visible() -> list[Case]:
    cases = [
        make_case(8200, "visible-1", VISIBLE, 4, 6, 3),
        make_case(8201, "visible-2", VISIBLE, 5, 8, 4),
    ]
    # one probe, so that reading a global `epx` shows up before submission
    return cases + add_probes(cases[:1], {"epx": _scaled_rows}, seed=8600)


def _unpack(returned: Any, args: list[Any]) -> dict[str, Any]:
    grads = unpack_dict(*KEYS)(returned, args)
    return {out: grads[key] for out, key in zip(OUTPUTS, KEYS, strict=True)}


SPEC = Spec(
    name="policy_backward",
    params=PARAMS,
    outputs=OUTPUTS,
    hidden=hidden,
    visible=visible,
    reference=reference,
    unpack=_unpack,
    by_hand=True,
    bug_models=BUGS,
    hints={
        "scaled": "The objective is a sum over the T steps, not a mean: do not divide by T.",
        "opposite_sign": "The gradient of sum_t epdlogp[t] * logit_t has the sign of epdlogp: no minus sign.",
        "transposed": "The gradient of W1 has W1's shape (H, D): sum over t of dh[t] (H) times epx[t] (D).",
        "wrong_shape": "The gradients have the shapes of the weights: W1 (H, D), W2 (H,).",
        "wrong_values": "Check the three steps: the gradient of W2 (a sum over t of epdlogp[t] times "
        "eph[t]), the gradient flowing back to h (zero where the ReLU was inactive), the gradient of W1.",
    },
)
