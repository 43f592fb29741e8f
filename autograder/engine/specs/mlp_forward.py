"""mlp_forward(x, W1, b1, W2, b2) -> logits: the forward pass of a two-layer network.

x (N, D), W1 (D, H), b1 (H,), W2 (H, C), b2 (C,); h = relu(x @ W1 + b1) (N, H);
logits = h @ W2 + b2 (N, C), no activation on the output.
"""

from __future__ import annotations

from dataclasses import replace

import torch
from torch import Tensor

from autograder.engine.cases import EDGE, RANDOM, VISIBLE, Args, Case, Rng, as64
from autograder.engine.spec import BugModel, Spec, unpack_single
from autograder.engine.specs.common import ProbeMaker, add_probes, replace_arg, seeded_cases

PARAMS = ("x", "W1", "b1", "W2", "b2")


def forward(
    case: Case,
    hidden: str = "relu",
    output: str = "none",
    use_b1: bool = True,
    use_b2: bool = True,
    bias_after: bool = False,
) -> Tensor:
    """float64 logits; the switches describe typical slips."""
    x, W1, b1, W2, b2 = as64(case.args)
    z1 = x @ W1
    if use_b1 and not bias_after:
        z1 = z1 + b1
    h = {"relu": torch.relu, "none": lambda t: t, "sigmoid": torch.sigmoid}[hidden](z1)
    if use_b1 and bias_after:
        h = h + b1
    z2 = h @ W2 + (b2 if use_b2 else 0.0)
    return {
        "none": lambda t: t,
        "relu": torch.relu,
        "softmax": lambda t: torch.softmax(t, dim=-1),
        "sigmoid": torch.sigmoid,
    }[output](z2)


def reference(case: Case) -> dict[str, Tensor]:
    return {"logits": forward(case)}


def _bug(code: str, message: str, **switches: object) -> BugModel:
    return BugModel(code, message, lambda c: {"logits": forward(c, **switches)})  # type: ignore[arg-type]


BUGS = (
    _bug(
        "missing_relu",
        "matches the network without the ReLU: h = relu(x @ W1 + b1). Without it the two layers "
        "collapse into one linear map.",
        hidden="none",
    ),
    _bug("wrong_activation", "matches a sigmoid hidden layer: this network uses the ReLU.", hidden="sigmoid"),
    _bug(
        "output_activation",
        "has a ReLU on the output: logits are the raw scores h @ W2 + b2 and may be negative.",
        output="relu",
    ),
    _bug(
        "output_activation",
        "is the softmax of the logits: return the raw scores; the loss (F.cross_entropy) applies the "
        "softmax itself.",
        output="softmax",
    ),
    _bug(
        "output_activation",
        "is the sigmoid of the logits: return the raw scores h @ W2 + b2.",
        output="sigmoid",
    ),
    _bug(
        "bias_after_relu",
        "adds b1 after the ReLU: the bias belongs inside, h = relu(x @ W1 + b1).",
        bias_after=True,
    ),
    _bug("missing_bias", "matches the network without the hidden bias b1.", use_b1=False),
    _bug("missing_bias", "matches the network without the output bias b2.", use_b2=False),
)


def make_case(
    rng: Rng,
    id: str,
    kind: str,
    N: int,
    D: int,
    H: int,
    C: int,
    about: str = "",
    dtype: torch.dtype = torch.float64,
) -> Case:
    x = rng.normal(N, D)
    W1 = rng.normal(D, H, std=D**-0.5)
    b1 = rng.normal(H, std=0.5)
    W2 = rng.normal(H, C, std=H**-0.5)
    b2 = rng.normal(C, std=0.5)
    args = tuple(a.to(dtype) for a in (x, W1, b1, W2, b2))
    return Case(id, kind, args, about or f"N={N}, D={D}, H={H}, C={C}", {"N": N, "D": D, "H": H, "C": C})


def random_cases() -> list[Case]:
    def draw(rng: Rng, id: str) -> Case:
        return make_case(rng, id, RANDOM, **rng.distinct_sizes("NDHC", 2, 12))

    return seeded_cases(12000, draw)


def _fresh(name: str) -> ProbeMaker:
    def make(base: Case, rng: Rng) -> Args:
        old = base.args[PARAMS.index(name)]
        return replace_arg(base.args, PARAMS, name, rng.normal(*old.shape, std=float(old.std()) + 0.5))

    return make


def edge_cases() -> list[Case]:
    def make(seed: int, id: str, about: str, N: int, D: int, H: int, C: int, **kw: torch.dtype) -> Case:
        return make_case(Rng(seed), f"edge-{id}", EDGE, N, D, H, C, about, **kw)

    dead = make(12101, "inactive", "hidden units 0 and 2 inactive for every example", 7, 4, 5, 3)
    x, W1, b1, W2, b2 = dead.args
    b1 = b1.clone()
    b1[[0, 2]] = -(x @ W1).abs().max() - 1.0
    dead = replace(dead, args=(x, W1, b1, W2, b2))
    return [
        make(12100, "N1", "a single example (N=1)", 1, 4, 6, 3),
        dead,
        make(12102, "odd", "odd widths N=5, D=7, H=9, C=3", 5, 7, 9, 3),
        make(12103, "C1", "one output (C=1)", 6, 3, 4, 1),
        make(12104, "H1", "one hidden unit (H=1)", 6, 3, 1, 2),
        make(12105, "float32", "float32 inputs", 8, 5, 6, 4, dtype=torch.float32),
        make(12106, "large", "a batch of 256 with D=64, H=32, C=10", 256, 64, 32, 10),
    ]


def hidden() -> list[Case]:
    randoms = random_cases()
    makers = {name: _fresh(name) for name in PARAMS}
    return randoms + add_probes(randoms[:2], makers, seed=12500) + edge_cases()


def visible() -> list[Case]:
    f64 = torch.float64
    hand = (
        torch.tensor([[1.0, 2.0]], dtype=f64),
        torch.tensor([[1.0, -1.0, 0.5], [0.5, 1.0, -1.0]], dtype=f64),
        torch.tensor([0.0, 0.5, 0.0], dtype=f64),
        torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], dtype=f64),
        torch.tensor([0.1, -0.1], dtype=f64),
    )
    return [
        Case(
            "visible-1", VISIBLE, hand, "the worked example of the lesson", {"N": 1, "D": 2, "H": 3, "C": 2}
        ),
        make_case(Rng(12200), "visible-2", VISIBLE, 4, 3, 5, 2),
        make_case(Rng(12201), "visible-3", VISIBLE, 3, 2, 4, 3, dtype=torch.float32),
    ]


SPEC = Spec(
    name="mlp_forward",
    params=PARAMS,
    outputs=("logits",),
    hidden=hidden,
    visible=visible,
    reference=reference,
    unpack=unpack_single("logits"),
    bug_models=BUGS,
    labels={"logits": "the returned tensor"},
    hints={
        "wrong_shape": "x (N, D) @ W1 (D, H) gives (N, H); h (N, H) @ W2 (H, C) gives the logits (N, C). "
        "The biases broadcast over the rows.",
        "transposed": "x (N, D) @ W1 (D, H) gives (N, H); h (N, H) @ W2 (H, C) gives the logits (N, C).",
        "wrong_values": "Two steps: h = relu(x @ W1 + b1), then logits = h @ W2 + b2, nothing after that.",
    },
)
