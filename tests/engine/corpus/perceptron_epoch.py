"""perceptron_epoch: correct implementations in several styles, and realistic bugs."""

from __future__ import annotations

import torch
from torch import Tensor

STUB = "perceptron_epoch"


# ---------------------------------------------------------------- correct


def _epoch_in_place(w: Tensor, b: Tensor, X: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    """One epoch that updates the tensors it is given (w += ..., b += ...)."""
    for n in range(X.shape[0]):
        if y[n] * (X[n] @ w + b) <= 0:
            w += y[n] * X[n]
            b += y[n]
    return w, b


def loop_with_clone(w: Tensor, b: Tensor, X: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    return _epoch_in_place(w.clone(), b.clone(), X, y)


def zip_rows(w: Tensor, b: Tensor, X: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    for x_n, y_n in zip(X, y, strict=True):
        if y_n * (torch.dot(w, x_n) + b) <= 0:
            w = w + y_n * x_n
            b = b + y_n
    return w, b


def sign_of_score(w: Tensor, b: Tensor, X: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    """torch.sign(0) = 0 differs from both labels, so the boundary counts as a mistake."""
    for n in range(len(y)):
        if torch.sign(X[n] @ w + b) != y[n]:
            w = w + y[n] * X[n]
            b = b + y[n]
    return w, b


def augmented(w: Tensor, b: Tensor, X: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    """The bias as an extra weight on a constant feature 1."""
    theta = torch.cat([w, b.reshape(1)])
    ones = torch.ones(X.shape[0], 1, dtype=X.dtype)
    Xa = torch.cat([X, ones], dim=1)
    for n in range(Xa.shape[0]):
        if y[n] * (Xa[n] @ theta) <= 0:
            theta = theta + y[n] * Xa[n]
    return theta[:-1], theta[-1]


def numpy_loop(w: Tensor, b: Tensor, X: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    wn, bn = w.numpy().copy(), float(b)
    Xn, yn = X.numpy(), y.numpy()
    for n in range(len(yn)):
        if yn[n] * (Xn[n] @ wn + bn) <= 0:
            wn += yn[n] * Xn[n]
            bn += yn[n]
    return torch.from_numpy(wn), torch.tensor(bn, dtype=b.dtype)


def misclassified_flag(w: Tensor, b: Tensor, X: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    """Multiply the update by a 0/1 flag instead of branching."""
    for n in range(X.shape[0]):
        wrong = (y[n] * (X[n] @ w + b) <= 0).to(w.dtype)
        w = w + wrong * y[n] * X[n]
        b = b + wrong * y[n]
    return w, b


CORRECT = [loop_with_clone, zip_rows, sign_of_score, augmented, numpy_loop, misclassified_flag]


# ---------------------------------------------------------------- buggy


def vectorised(w: Tensor, b: Tensor, X: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    """'Faster' without the loop: but every example is judged with the starting weights."""
    wrong = (y * (X @ w + b) <= 0).to(w.dtype)
    return w + (wrong * y) @ X, b + (wrong * y).sum()


def strict_inequality(w: Tensor, b: Tensor, X: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    for n in range(X.shape[0]):
        if y[n] * (X[n] @ w + b) < 0:
            w = w + y[n] * X[n]
            b = b + y[n]
    return w, b


def no_bias(w: Tensor, b: Tensor, X: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    for n in range(X.shape[0]):
        if y[n] * (X[n] @ w + b) <= 0:
            w = w + y[n] * X[n]
    return w, b


def always_update(w: Tensor, b: Tensor, X: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    for n in range(X.shape[0]):
        w = w + y[n] * X[n]
        b = b + y[n]
    return w, b


def minus_update(w: Tensor, b: Tensor, X: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    """Gradient-descent habit: subtract."""
    for n in range(X.shape[0]):
        if y[n] * (X[n] @ w + b) <= 0:
            w = w - y[n] * X[n]
            b = b - y[n]
    return w, b


def in_place(w: Tensor, b: Tensor, X: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    """Updates the caller's w and b."""
    return _epoch_in_place(w, b, X, y)


def python_float_bias(w: Tensor, b: Tensor, X: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    bias = b.item()
    for n in range(X.shape[0]):
        if y[n] * (X[n] @ w + bias) <= 0:
            w = w + y[n] * X[n]
            bias += y[n].item()
    return w, bias  # type: ignore[return-value]


def float32_bias(w: Tensor, b: Tensor, X: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    """torch.tensor(a Python float) is float32, whatever b was."""
    bias = float(b)
    for n in range(X.shape[0]):
        if y[n] * (X[n] @ w + bias) <= 0:
            w = w + y[n] * X[n]
            bias += float(y[n])
    return w, torch.tensor(bias)


def sign_mistake_test(w: Tensor, b: Tensor, X: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    """Compares the prediction with np.sign, but maps a score of 0 to +1 first."""
    for n in range(X.shape[0]):
        score = float(X[n] @ w + b)
        prediction = 1.0 if score >= 0 else -1.0
        if prediction != float(y[n]):
            w = w + y[n] * X[n]
            b = b + y[n]
    return w, b


def only_weights(w: Tensor, b: Tensor, X: Tensor, y: Tensor) -> Tensor:
    for n in range(X.shape[0]):
        if y[n] * (X[n] @ w + b) <= 0:
            w = w + y[n] * X[n]
            b = b + y[n]
    return w


def starts_from_zero(w: Tensor, b: Tensor, X: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    """Re-initialises the weights instead of continuing from the given ones."""
    w, b = torch.zeros_like(w), torch.zeros_like(b)
    for n in range(X.shape[0]):
        if y[n] * (X[n] @ w + b) <= 0:
            w = w + y[n] * X[n]
            b = b + y[n]
    return w, b


BUGGY = [
    (vectorised, "batch_update"),
    (strict_inequality, "boundary_not_mistake"),
    (no_bias, "bias_not_updated"),
    (always_update, "updates_every_example"),
    (minus_update, "update_sign"),
    (in_place, "mutates_input"),
    (python_float_bias, "not_tensor"),
    (float32_bias, "wrong_dtype"),
    (sign_mistake_test, "boundary_not_mistake"),
    (only_weights, "bad_return"),
    (starts_from_zero, "ignores_argument"),
]
