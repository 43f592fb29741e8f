"""discretize(obs, low, high, bins) -> Tensor: the bin index of every feature of an observation.

obs (..., D) float, low and high (D,) float with low < high, bins an int >= 1. Feature d is cut
into `bins` bins of equal width w_d = (high[d] - low[d]) / bins; the index of x is
floor((x - low[d]) / w_d), clipped to [0, bins - 1]: a value on an inner edge belongs to the bin
above it, x = high[d] to the last bin, and values below low (above high) to the first (last) bin.
The result is an int64 tensor of the shape of obs; obs is left unchanged.

Values on bin edges are exact binary fractions (ranges and widths are powers of two), so every
correct formula gives the same index there; random values keep away from the edges (at least
1e-3 of a bin), so float32 round-off cannot move them into a neighbouring bin.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from autograder.engine.cases import EDGE, RANDOM, VISIBLE, Args, Case, Rng, as64
from autograder.engine.spec import BugModel, Spec, unpack_single
from autograder.engine.specs.common import add_probes, replace_arg

PARAMS = ("obs", "low", "high", "bins")
OUT = "index"


def indices(
    case: Case, clip: str = "both", width: str = "right", rounding: str = "floor", shared: bool = False
) -> Tensor:
    """The bin indices in float64; the keyword arguments describe typical slips."""
    obs, low, high, bins = as64(case.args)
    if shared:  # one range, low.min() .. high.max(), for every feature
        low, high = low.min().expand_as(low), high.max().expand_as(high)
    n = {"right": bins, "bins_minus_1": bins - 1, "bins_plus_1": bins + 1}[width]
    u = (obs - low) / (high - low) * n if n > 0 else torch.zeros_like(obs)
    raw = {"floor": torch.floor(u), "round": torch.round(u), "ceil_minus_1": torch.ceil(u) - 1}[rounding]
    if clip == "both":
        return raw.clamp(0, bins - 1)
    if clip == "upper_bins":  # clamp(0, bins): x = high (and above) gets the index `bins`
        return raw.clamp(0, bins)
    if clip == "low_only":
        return raw.clamp_min(0)
    return raw


def reference(case: Case) -> dict[str, Tensor]:
    return {OUT: indices(case)}


def _only(value: Tensor) -> dict[str, Tensor]:
    return {OUT: value}


BUGS = (
    BugModel(
        "index_bins",
        "contains the index `bins` (one past the last bin) where x >= high: there are only bins indices, "
        "0 .. bins - 1, so clip to bins - 1, e.g. idx.clamp(0, bins - 1).",
        lambda c: _only(indices(c, clip="upper_bins")),
    ),
    BugModel(
        "index_bins",
        "contains the index `bins` or more where x >= high: clip the upper end too, idx.clamp(0, bins - 1).",
        lambda c: _only(indices(c, clip="low_only")),
    ),
    BugModel(
        "no_clip",
        "has indices outside 0 .. bins - 1 for values outside [low, high]: CartPole's velocities are "
        "unbounded, so clip the indices (or the values) into range: idx.clamp(0, bins - 1).",
        lambda c: _only(indices(c, clip="none")),
    ),
    BugModel(
        "bin_width",
        "matches bins of width (high - low) / (bins - 1): that is the spacing of torch.linspace(low, high, "
        "bins), which gives bins - 1 intervals. The width of one of `bins` bins is (high - low) / bins.",
        lambda c: _only(indices(c, width="bins_minus_1")),
    ),
    BugModel(
        "bin_width",
        "matches bins of width (high - low) / (bins + 1): the width of one of `bins` bins is "
        "(high - low) / bins.",
        lambda c: _only(indices(c, width="bins_plus_1")),
    ),
    BugModel(
        "rounding",
        "rounds to the nearest integer: the index of the bin that holds x is the floor of "
        "(x - low) / width (torch.floor, or .long() after clipping to be non-negative).",
        lambda c: _only(indices(c, rounding="round")),
    ),
    BugModel(
        "edge_side",
        "puts values that lie exactly on an inner bin edge into the bin below it: a bin includes its lower "
        "edge, index = floor((x - low) / width). (torch.bucketize needs right=True for that.)",
        lambda c: _only(indices(c, rounding="ceil_minus_1")),
    ),
    BugModel(
        "one_range",
        "matches one range, low.min() .. high.max(), for every feature: each feature d has its own "
        "range, low[d] .. high[d] (broadcast low and high over the last dimension of obs).",
        lambda c: _only(indices(c, shared=True)),
    ),
)


def make_case(
    seed: int,
    id: str,
    kind: str,
    batch: tuple[int, ...],
    D: int,
    bins: int,
    about: str = "",
    outside: float = 0.15,
    dtype: torch.dtype = torch.float64,
) -> Case:
    """Random ranges; values uniform over [low - margin, high + margin], a share `outside` of them
    outside [low, high], none within 1e-3 bin widths of an inner edge."""
    rng = Rng(seed)
    low = rng.uniform(D, low=-3.0, high=1.0)
    high = low + rng.uniform(D, low=0.5, high=4.0)
    width = (high - low) / bins
    u = rng.uniform(*batch, D, low=0.0, high=1.0)  # position in [low, high] as a fraction
    out = rng.bernoulli(*batch, D, p=outside)
    side = torch.where(rng.bernoulli(*batch, D) > 0, 1.0, -1.0).to(torch.float64)
    u = torch.where(out > 0, 0.5 + side * (0.5 + rng.uniform(*batch, D, low=0.02, high=0.6)), u)
    x = low + u * (high - low)
    k = (x - low) / width
    frac = k - torch.floor(k)
    x = torch.where((frac < 1e-3) | (frac > 1 - 1e-3), x + 0.01 * width, x)  # away from the edges
    text = about or f"obs {(*batch, D)}, bins={bins}"
    return Case(id, kind, (x.to(dtype), low.to(dtype), high.to(dtype), bins), text, {"D": D, "bins": bins})


def edge_grid_case(id: str, bins: int, about: str, dtype: torch.dtype = torch.float64) -> Case:
    """Every bin edge and bin middle, both ends and points beyond them, for ranges of exact binary
    widths."""
    low = torch.tensor([-2.0, 0.0, -0.5], dtype=torch.float64)
    span = torch.tensor([4.0, 1.0, 2.0], dtype=torch.float64)
    high = low + span
    steps = torch.arange(-4, 2 * bins + 5, dtype=torch.float64) / 2  # edges and bin middles
    x = low + steps[:, None] * span / bins  # exact when bins is a power of two
    return Case(id, EDGE, (x.to(dtype), low.to(dtype), high.to(dtype), bins), about, {"bins": bins, "D": 3})


def random_cases() -> list[Case]:
    shapes = [(20,), (15,), (8, 3), (30,), (12,), (5, 4), (25,), (10,), (18,), (6, 2)]
    cases = []
    for i, batch in enumerate(shapes):
        rng = Rng(21000 + i)
        D = rng.integer(2, 6)
        bins = rng.choice([3, 5, 6, 7, 10, 12])
        cases.append(make_case(21050 + i, f"random-{i:02d}", RANDOM, batch, D, bins))
    return cases


def _new(name: str) -> Any:
    def make(base: Case, rng: Rng) -> Args:
        obs, low, high, bins = base.args
        value: Any = {
            "obs": low + rng.uniform(*obs.shape, low=-0.2, high=1.2) * (high - low),
            "low": low - 0.9 * (high - low),
            "high": high + 0.8 * (high - low),
            "bins": 2 * bins + 1,
        }[name]
        return replace_arg(base.args, PARAMS, name, value)

    return make


def edge_cases() -> list[Case]:
    return [
        edge_grid_case("edge-on-edges", 4, "values exactly on every bin edge, at low, at high and beyond"),
        edge_grid_case("edge-on-edges-8", 8, "every edge of 8 bins, float32", dtype=torch.float32),
        make_case(21100, "edge-outside", EDGE, (40,), 4, 6, "half of the values outside [low, high]", 0.5),
        make_case(21101, "edge-1d", EDGE, (), 4, 5, "a single observation of shape (D,)"),
        make_case(21102, "edge-3d", EDGE, (3, 4), 2, 4, "a batch of shape (3, 4, D)"),
        make_case(21103, "edge-bins1", EDGE, (10,), 3, 1, "bins = 1: every index is 0"),
        make_case(21104, "edge-float32", EDGE, (16,), 4, 10, "float32 tensors", dtype=torch.float32),
        make_case(21105, "edge-D1", EDGE, (12,), 1, 9, "a single feature, D = 1"),
        make_case(21106, "edge-many-bins", EDGE, (30,), 4, 40, "40 bins"),
    ]


def hidden() -> list[Case]:
    randoms = random_cases()
    return randoms + add_probes(randoms[:2], {n: _new(n) for n in PARAMS}, seed=21500) + edge_cases()


def visible() -> list[Case]:
    return [
        make_case(21200, "visible-1", VISIBLE, (6,), 4, 5),
        edge_grid_case("visible-edges", 4, "values on the bin edges, at low and high, and beyond"),
    ]


SPEC = Spec(
    name="discretize",
    params=PARAMS,
    outputs=(OUT,),
    hidden=hidden,
    visible=visible,
    reference=reference,
    unpack=unpack_single(OUT),
    bug_models=BUGS,
    dtypes={OUT: torch.int64},
    labels={OUT: "the bin indices"},
    hints={
        "wrong_values": "index = floor((obs - low) / (high - low) * bins), then clamp it to 0 .. bins - 1.",
        "wrong_dtype": "Return integer indices that can index a table: .long() (torch.int64).",
        "wrong_shape": "One index per feature: the result has the shape of obs, (..., D). Work with "
        "broadcasting over the last dimension instead of indexing obs[:, d].",
        "mutates_input": "Leave obs unchanged: obs.clamp(low, high) returns a new tensor; obs.clamp_(...) "
        "overwrites the caller's observation.",
    },
)
