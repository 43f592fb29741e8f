"""epsilon_by_step: correct implementations in several styles, and realistic bugs."""

from __future__ import annotations

import math

import numpy as np
import torch

STUB = "epsilon_by_step"


# ---------------------------------------------------------------- correct


def clamped_fraction(step: int, start: float, end: float, decay_steps: int) -> float:
    return end + (start - end) * max(0.0, 1.0 - step / decay_steps)


def min_progress(step: int, start: float, end: float, decay_steps: int) -> float:
    progress = min(1.0, step / decay_steps)
    return start + progress * (end - start)


def branches(step: int, start: float, end: float, decay_steps: int) -> float:
    if step >= decay_steps:
        return float(end)
    slope = (end - start) / decay_steps
    return start + slope * step


def numpy_interp(step: int, start: float, end: float, decay_steps: int) -> float:
    return float(np.interp(step, [0, decay_steps], [start, end]))


def torch_scalar(step: int, start: float, end: float, decay_steps: int) -> float:
    frac = torch.clamp(torch.tensor(step / decay_steps, dtype=torch.float64), max=1.0)
    return float(
        torch.lerp(torch.tensor(start, dtype=torch.float64), torch.tensor(end, dtype=torch.float64), frac)
    )


CORRECT = [clamped_fraction, min_progress, branches, numpy_interp, torch_scalar]


# ---------------------------------------------------------------- buggy


def never_stops(step: int, start: float, end: float, decay_steps: int) -> float:
    return start - (start - end) * step / decay_steps


def starts_at_one(step: int, start: float, end: float, decay_steps: int) -> float:
    return end + (1.0 - end) * max(0.0, 1.0 - step / decay_steps)


def upside_down(step: int, start: float, end: float, decay_steps: int) -> float:
    return end + (start - end) * min(1.0, step / decay_steps)


def one_ahead(step: int, start: float, end: float, decay_steps: int) -> float:
    return end + (start - end) * max(0.0, 1.0 - (step + 1) / decay_steps)


def exponential(step: int, start: float, end: float, decay_steps: int) -> float:
    return end + (start - end) * math.exp(-step / decay_steps)


def integer_division(step: int, start: float, end: float, decay_steps: int) -> float:
    return end + (start - end) * max(0, 1 - step // decay_steps)


def hard_coded(step: int, start: float, end: float, decay_steps: int) -> float:
    return end + (start - end) * max(0.0, 1.0 - step / 10000)


def forgets_end(step: int, start: float, end: float, decay_steps: int) -> float:
    return start * max(0.0, 1.0 - step / decay_steps)


BUGGY = [
    (never_stops, "no_clamp"),
    (starts_at_one, "ignores_argument"),
    (upside_down, "reversed"),
    (one_ahead, "off_by_one"),
    (exponential, "not_linear"),
    (integer_division, "not_linear"),
    (hard_coded, "ignores_argument"),
    (forgets_end, "ignores_argument"),
]
