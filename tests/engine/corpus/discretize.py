"""discretize: correct implementations in several styles, and realistic bugs."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

STUB = "discretize"


# ---------------------------------------------------------------- correct


def floor_clamp(obs: Tensor, low: Tensor, high: Tensor, bins: int) -> Tensor:
    scaled = (obs - low) / (high - low) * bins
    return torch.floor(scaled).clamp(0, bins - 1).long()


def clamp_values_first(obs: Tensor, low: Tensor, high: Tensor, bins: int) -> Tensor:
    x = torch.minimum(torch.maximum(obs, low), high)
    width = (high - low) / bins
    return ((x - low) / width).long().clamp(max=bins - 1)


def float_clamp_then_truncate(obs: Tensor, low: Tensor, high: Tensor, bins: int) -> Tensor:
    width = (high - low) / bins
    return ((obs - low) / width).clamp(0, bins - 1).to(torch.int64)


def bucketize_per_feature(obs: Tensor, low: Tensor, high: Tensor, bins: int) -> Tensor:
    out = torch.empty(obs.shape, dtype=torch.int64)
    for d in range(obs.shape[-1]):
        edges = torch.linspace(float(low[d]), float(high[d]), bins + 1, dtype=torch.float64)[1:-1]
        out[..., d] = torch.bucketize(obs[..., d].double(), edges, right=True)
    return out


def numpy_digitize(obs: Tensor, low: Tensor, high: Tensor, bins: int) -> Tensor:
    x, lo, hi = obs.numpy(), low.numpy(), high.numpy()
    out = np.zeros(x.shape, dtype=np.int64)
    for d in range(x.shape[-1]):
        inner = lo[d] + (hi[d] - lo[d]) * np.arange(1, bins) / bins
        out[..., d] = np.digitize(x[..., d], inner)
    return torch.from_numpy(out)


def div_floor(obs: Tensor, low: Tensor, high: Tensor, bins: int) -> Tensor:
    width = (high - low) / bins
    idx = torch.div(obs - low, width, rounding_mode="floor").to(torch.long)
    return torch.clip(idx, min=0, max=bins - 1)


CORRECT = [
    floor_clamp,
    clamp_values_first,
    float_clamp_then_truncate,
    bucketize_per_feature,
    numpy_digitize,
    div_floor,
]


# ---------------------------------------------------------------- buggy


def clamp_to_bins(obs: Tensor, low: Tensor, high: Tensor, bins: int) -> Tensor:
    return torch.floor((obs - low) / (high - low) * bins).clamp(0, bins).long()


def no_clip(obs: Tensor, low: Tensor, high: Tensor, bins: int) -> Tensor:
    return torch.floor((obs - low) / (high - low) * bins).long()


def linspace_width(obs: Tensor, low: Tensor, high: Tensor, bins: int) -> Tensor:
    width = (high - low) / (bins - 1)  # the spacing of torch.linspace(low, high, bins)
    return torch.floor((obs - low) / width).clamp(0, bins - 1).long()


def rounds(obs: Tensor, low: Tensor, high: Tensor, bins: int) -> Tensor:
    return torch.round((obs - low) / (high - low) * bins).clamp(0, bins - 1).long()


def bucketize_left(obs: Tensor, low: Tensor, high: Tensor, bins: int) -> Tensor:
    out = torch.empty(obs.shape, dtype=torch.int64)
    for d in range(obs.shape[-1]):
        edges = torch.linspace(float(low[d]), float(high[d]), bins + 1, dtype=torch.float64)[1:-1]
        out[..., d] = torch.bucketize(obs[..., d].double(), edges)
    return out


def global_range(obs: Tensor, low: Tensor, high: Tensor, bins: int) -> Tensor:
    lo, hi = low.min(), high.max()
    return torch.floor((obs - lo) / (hi - lo) * bins).clamp(0, bins - 1).long()


def returns_float(obs: Tensor, low: Tensor, high: Tensor, bins: int) -> Tensor:
    return torch.floor((obs - low) / (high - low) * bins).clamp(0, bins - 1)


def returns_int32(obs: Tensor, low: Tensor, high: Tensor, bins: int) -> Tensor:
    return torch.floor((obs - low) / (high - low) * bins).clamp(0, bins - 1).int()


def clamps_obs_in_place(obs: Tensor, low: Tensor, high: Tensor, bins: int) -> Tensor:
    obs.clamp_(low, high)
    return ((obs - low) / (high - low) * bins).long().clamp(max=bins - 1)


CARTPOLE_LOW = torch.tensor([-2.4, -3.0, -0.21, -3.5], dtype=torch.float64)
CARTPOLE_HIGH = torch.tensor([2.4, 3.0, 0.21, 3.5], dtype=torch.float64)


def cartpole_bounds(obs: Tensor, low: Tensor, high: Tensor, bins: int) -> Tensor:
    d = obs.shape[-1]
    lo, hi = CARTPOLE_LOW[:d].to(obs.dtype), CARTPOLE_HIGH[:d].to(obs.dtype)
    return torch.floor((obs - lo) / (hi - lo) * bins).clamp(0, bins - 1).long()


def columns_of_a_batch(obs: Tensor, low: Tensor, high: Tensor, bins: int) -> Tensor:
    out = torch.zeros_like(obs, dtype=torch.int64)
    for d in range(low.shape[0]):
        width = (high[d] - low[d]) / bins
        out[:, d] = ((obs[:, d] - low[d]) / width).floor().clamp(0, bins - 1).long()
    return out


BUGGY = [
    (clamp_to_bins, "index_bins"),
    (no_clip, "no_clip"),
    (linspace_width, "bin_width"),
    (rounds, "rounding"),
    (bucketize_left, "edge_side"),
    (global_range, "one_range"),
    (returns_float, "wrong_dtype"),
    (returns_int32, "wrong_dtype"),
    (clamps_obs_in_place, "mutates_input"),
    (cartpole_bounds, "ignores_argument"),
    (columns_of_a_batch, "raised"),
]
