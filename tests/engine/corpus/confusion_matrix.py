"""confusion_matrix: correct implementations in several styles, and realistic bugs."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

STUB = "confusion_matrix"


# ---------------------------------------------------------------- correct


def loop(predictions: Tensor, labels: Tensor, num_classes: int) -> Tensor:
    m = torch.zeros(num_classes, num_classes, dtype=torch.int64)
    for t, p in zip(labels.tolist(), predictions.tolist(), strict=True):
        m[t, p] += 1
    return m


def bincount(predictions: Tensor, labels: Tensor, num_classes: int) -> Tensor:
    flat = labels * num_classes + predictions
    return torch.bincount(flat, minlength=num_classes**2).reshape(num_classes, num_classes)


def index_put(predictions: Tensor, labels: Tensor, num_classes: int) -> Tensor:
    m = torch.zeros(num_classes, num_classes, dtype=torch.long)
    m.index_put_((labels, predictions), torch.ones_like(labels), accumulate=True)
    return m


def one_hot_product(predictions: Tensor, labels: Tensor, num_classes: int) -> Tensor:
    return F.one_hot(labels, num_classes).T @ F.one_hot(predictions, num_classes)


def numpy_add_at(predictions: Tensor, labels: Tensor, num_classes: int) -> Tensor:
    m = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(m, (labels.numpy(), predictions.numpy()), 1)
    return torch.from_numpy(m)


def comparison_sums(predictions: Tensor, labels: Tensor, num_classes: int) -> Tensor:
    classes = torch.arange(num_classes)
    is_true = labels[None, :] == classes[:, None]  # (C, N)
    is_pred = predictions[None, :] == classes[:, None]
    return (is_true.long() @ is_pred.long().T).to(torch.int64)


CORRECT = [loop, bincount, index_put, one_hot_product, numpy_add_at, comparison_sums]


# ---------------------------------------------------------------- buggy


def fancy_index_plus_equals(predictions: Tensor, labels: Tensor, num_classes: int) -> Tensor:
    m = torch.zeros(num_classes, num_classes, dtype=torch.int64)
    m[labels, predictions] += 1
    return m


def predicted_rows(predictions: Tensor, labels: Tensor, num_classes: int) -> Tensor:
    m = torch.zeros(num_classes, num_classes, dtype=torch.int64)
    for t, p in zip(labels.tolist(), predictions.tolist(), strict=True):
        m[p, t] += 1
    return m


def float_counts(predictions: Tensor, labels: Tensor, num_classes: int) -> Tensor:
    m = torch.zeros(num_classes, num_classes)
    for t, p in zip(labels.tolist(), predictions.tolist(), strict=True):
        m[t, p] += 1
    return m


def size_from_data(predictions: Tensor, labels: Tensor, num_classes: int) -> Tensor:
    """Infers the number of classes from the data: too small when the last class is missing."""
    c = int(max(labels.max(), predictions.max())) + 1
    flat = labels * c + predictions
    return torch.bincount(flat, minlength=c * c).reshape(c, c)


def row_fractions(predictions: Tensor, labels: Tensor, num_classes: int) -> Tensor:
    m = bincount(predictions, labels, num_classes).double()
    return m / m.sum(dim=1, keepdim=True).clamp_min(1)


def bincount_without_minlength(predictions: Tensor, labels: Tensor, num_classes: int) -> Tensor:
    flat = labels * num_classes + predictions
    return torch.bincount(flat).reshape(num_classes, num_classes)


def diagonal_only(predictions: Tensor, labels: Tensor, num_classes: int) -> Tensor:
    """Counts only the right predictions."""
    m = torch.zeros(num_classes, num_classes, dtype=torch.int64)
    for t, p in zip(labels.tolist(), predictions.tolist(), strict=True):
        if t == p:
            m[t, t] += 1
    return m


def numpy_result(predictions: Tensor, labels: Tensor, num_classes: int) -> np.ndarray:
    m = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(m, (labels.numpy(), predictions.numpy()), 1)
    return m


BUGGY = [
    (fancy_index_plus_equals, "no_accumulation"),
    (predicted_rows, "transposed"),
    (float_counts, "wrong_dtype"),
    (size_from_data, "wrong_shape"),
    (row_fractions, "normalised"),
    (bincount_without_minlength, "raised"),
    (diagonal_only, "wrong_values"),
    (numpy_result, "not_tensor"),
]
