"""apply_mask(x) -> a copy of a batch of images (..., H, W) with columns 0 .. W//2 - 1 zeroed.

The input is left unchanged; dtype and device are kept. Two edge cases pass an x that
requires grad: there, what autograd says of the masked columns is recorded too (the
gradient of sum(apply_mask(x)) with respect to x must be 0 there: those pixels do not
reach the result). A result detached from x has no gradient at all, which is fine.
"""

from __future__ import annotations

import torch
from torch import Tensor

from autograder.engine.cases import EDGE, RANDOM, VISIBLE, Case, Rng
from autograder.engine.spec import FLOAT, BugModel, Spec, unpack_single

PARAMS = ("x",)
OUT = "apply_mask(x)"  # the name of the result in messages
GRAD = "the gradient in the masked columns"  # d sum(apply_mask(x)) / dx, columns 0 .. W//2 - 1
NO_GRADIENT_CASE = torch.zeros(0, dtype=torch.float64)  # cases whose x does not require grad


def masked(x: Tensor, rows: bool = False, right: bool = False, width: int | None = None) -> Tensor:
    """float64 copy of x with a region zeroed: by default the left W//2 columns."""
    out = x.detach().to(torch.float64).clone()
    H, W = out.shape[-2:]
    if rows:
        out[..., : H // 2, :] = 0.0
    elif right:
        out[..., W // 2 :] = 0.0
    else:
        out[..., : (W // 2 if width is None else width)] = 0.0
    return out


def masked_columns(x: Tensor) -> Tensor:
    return x[..., : x.shape[-1] // 2]


def reference(case: Case) -> dict[str, Tensor]:
    x = case.args[0]
    grad = torch.zeros_like(masked_columns(x), dtype=torch.float64) if x.requires_grad else NO_GRADIENT_CASE
    return {OUT: masked(x), GRAD: grad}


def unpack(returned: object, args: list[object]) -> dict[str, object]:
    """The result, and autograd's gradient of its sum in the masked columns of x."""
    out = unpack_single(OUT)(returned, args)[OUT]
    x = args[0]
    if not (isinstance(x, Tensor) and x.requires_grad):
        return {OUT: out, GRAD: NO_GRADIENT_CASE}
    grad = None
    if isinstance(out, Tensor) and out.requires_grad:
        (grad,) = torch.autograd.grad(out.sum(), x, allow_unused=True)
    grad = torch.zeros_like(x) if grad is None else grad
    return {OUT: out.detach() if isinstance(out, Tensor) else out, GRAD: masked_columns(grad.detach())}


BUGS = (
    BugModel(
        "mask_region",
        "zeroes the top half (rows) instead of the left half (columns 0 .. W//2 - 1): "
        "the last dimension of (..., H, W) is the width.",
        lambda c: {OUT: masked(c.args[0], rows=True)},
    ),
    BugModel(
        "mask_region",
        "zeroes the right half instead of the left half (columns 0 .. W//2 - 1).",
        lambda c: {OUT: masked(c.args[0], right=True)},
    ),
    BugModel(
        "mask_region",
        "zeroes (W + 1) // 2 columns; for an odd width W only the first W // 2 columns are zeroed.",
        lambda c: {OUT: masked(c.args[0], width=(c.args[0].shape[-1] + 1) // 2)},
    ),
    BugModel(
        "masked_gradient",
        "is 1: the masked pixels still pass their gradient to x (e.g. x - x.detach() * mask gives the "
        "right values but keeps x in the graph). Build the result so that the masked columns do not "
        "depend on x: multiply by a 0/1 mask, or zero the columns of a clone.",
        lambda c: {GRAD: torch.ones_like(masked_columns(c.args[0]), dtype=torch.float64)},
    ),
    BugModel(
        "unchanged",
        "is the input unchanged: nothing was zeroed.",
        lambda c: {OUT: c.args[0].detach().to(torch.float64)},
        near_miss=False,
    ),
)


def images(
    rng: Rng,
    id: str,
    kind: str,
    shape: tuple[int, ...],
    about: str = "",
    dtype: torch.dtype = torch.float32,
    requires_grad: bool = False,
) -> Case:
    """Pixel values in [0.05, 1] (uint8: 1 .. 255), never 0, so every zeroed pixel is visible."""
    x = rng.uniform(*shape, low=0.05, high=1.0)
    x = (x * 255).ceil().to(dtype) if dtype == torch.uint8 else x.to(dtype)
    x.requires_grad_(requires_grad)
    H, W = shape[-2:]
    return Case(id, kind, (x,), about or f"shape {shape}", {"H": H, "W": W})


def hidden() -> list[Case]:
    cases = []
    for i in range(10):
        rng = Rng(4000 + i)
        B = rng.integer(1, 8)
        shape = rng.choice([(B, 1, 28, 28), (B, 28, 28)])
        cases.append(images(rng, f"random-{i:02d}", RANDOM, shape))
    edges = [
        ("odd-width", (3, 5, 7), "odd width W=7: columns 0..2 zeroed", torch.float32),
        ("single", (28, 28), "one image without a batch dimension (28, 28)", torch.float32),
        ("width-1", (4, 3, 1), "width W=1: nothing to zero", torch.float32),
        ("width-2", (2, 4, 2), "width W=2: column 0 zeroed", torch.float32),
        ("float64", (2, 28, 28), "float64 images: the dtype is kept", torch.float64),
        ("wide", (2, 6, 10), "non-square images H=6, W=10", torch.float32),
        ("tall", (2, 10, 6), "non-square images H=10, W=6", torch.float32),
        ("channels", (2, 3, 8, 9), "a batch of colour images (2, 3, 8, 9)", torch.float32),
    ]
    edges += [
        ("uint8", (2, 28, 28), "uint8 images (0 .. 255): the dtype is kept", torch.uint8),
        ("gradient", (2, 28, 28), "x requires grad: nothing flows back through masked pixels", torch.float32),
        ("gradient-odd", (3, 5, 7), "x requires grad, odd width W=7", torch.float64),
    ]
    for j, (id, shape, about, dtype) in enumerate(edges):
        rng = Rng(4100 + j)
        cases.append(
            images(rng, f"edge-{id}", EDGE, shape, about, dtype, requires_grad=id.startswith("gradient"))
        )
    return cases


def visible() -> list[Case]:
    return [
        images(Rng(4200), "visible-1", VISIBLE, (2, 28, 28)),
        images(Rng(4201), "visible-2", VISIBLE, (1, 1, 28, 28)),
        images(Rng(4202), "visible-3", VISIBLE, (3, 4, 6)),
    ]


SPEC = Spec(
    name="apply_mask",
    params=PARAMS,
    outputs=(OUT, GRAD),
    hidden=hidden,
    visible=visible,
    reference=reference,
    unpack=unpack,
    dtypes={OUT: "same:x", GRAD: FLOAT},
    probe_outputs=frozenset({OUT}),
    bug_models=BUGS,
    hints={
        "mutates_input": "apply_mask must return a copy: the original image is still needed as the training "
        "target. Clone first (out = x.clone()), then zero the columns of the copy.",
        "wrong_shape": "The result has the shape of x.",
        "raised": "x may require grad (e.g. an image that is being optimised): avoid .numpy() on it, or "
        "use x.detach() first.",
    },
)
