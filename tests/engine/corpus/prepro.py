"""prepro: correct implementations in several styles, and realistic bugs."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

STUB = "prepro"


# ---------------------------------------------------------------- correct


def astype_copies(frame: np.ndarray) -> Tensor:
    img = frame[35:195:2, ::2, 0].astype(np.float32)  # astype copies
    img[(img == 144) | (img == 109)] = 0.0
    img[img != 0] = 1.0
    return torch.from_numpy(img.reshape(-1))


def karpathy_with_copy(frame: np.ndarray) -> Tensor:
    I = frame[35:195].copy()  # noqa: E741 (the name of the original code)
    I = I[::2, ::2, 0]  # noqa: E741
    I[I == 144] = 0
    I[I == 109] = 0
    I[I != 0] = 1
    return torch.from_numpy(I.astype(np.float32).ravel())


def with_torch(frame: np.ndarray) -> Tensor:
    t = torch.from_numpy(frame)[35:195:2, ::2, 0].to(torch.float32)  # .to makes a new tensor
    t = torch.where((t == 144) | (t == 109), 0.0, t)
    return (t != 0).float().flatten()


def with_isin(frame: np.ndarray) -> Tensor:
    img = frame[35:195:2, ::2, 0]
    foreground = (img != 0) & ~np.isin(img, (144, 109))
    return torch.tensor(foreground.ravel(), dtype=torch.float32)


def pixel_loop(frame: np.ndarray) -> Tensor:
    out = torch.zeros(80 * 80, dtype=torch.float32)
    for i in range(80):
        for j in range(80):
            v = int(frame[35 + 2 * i, 2 * j, 0])
            out[80 * i + j] = float(v not in (0, 144, 109))
    return out


CORRECT = [astype_copies, karpathy_with_copy, with_torch, with_isin, pixel_loop]


# ---------------------------------------------------------------- buggy


def karpathy_view(frame: np.ndarray) -> Tensor:
    """The original code: frame[35:195] is a view, so the writes change the caller's frame."""
    I = frame[35:195]  # noqa: E741
    I = I[::2, ::2, 0]  # noqa: E741
    I[I == 144] = 0
    I[I == 109] = 0
    I[I != 0] = 1
    return torch.from_numpy(I.astype(np.float32).ravel())


def float64_result(frame: np.ndarray) -> Tensor:
    img = frame[35:195:2, ::2, 0].astype(np.float64)
    img[(img == 144) | (img == 109)] = 0
    img[img != 0] = 1
    return torch.from_numpy(img.ravel())


def returns_numpy(frame: np.ndarray) -> np.ndarray:
    img = frame[35:195:2, ::2, 0].astype(np.float32)
    img[(img == 144) | (img == 109)] = 0
    img[img != 0] = 1
    return img.ravel()


def only_144(frame: np.ndarray) -> Tensor:
    img = frame[35:195:2, ::2, 0].astype(np.float32)
    img[img == 144] = 0
    img[img != 0] = 1
    return torch.from_numpy(img.ravel())


def only_109(frame: np.ndarray) -> Tensor:
    img = frame[35:195:2, ::2, 0].astype(np.float32)
    img[img == 109] = 0
    img[img != 0] = 1
    return torch.from_numpy(img.ravel())


def not_binarised(frame: np.ndarray) -> Tensor:
    img = frame[35:195:2, ::2, 0].astype(np.float32)
    img[(img == 144) | (img == 109)] = 0
    return torch.from_numpy(img.ravel())


def crop_off_by_one(frame: np.ndarray) -> Tensor:
    img = frame[34:194:2, ::2, 0].astype(np.float32)
    img[(img == 144) | (img == 109)] = 0
    img[img != 0] = 1
    return torch.from_numpy(img.ravel())


def odd_columns(frame: np.ndarray) -> Tensor:
    img = frame[35:195:2, 1::2, 0].astype(np.float32)
    img[(img == 144) | (img == 109)] = 0
    img[img != 0] = 1
    return torch.from_numpy(img.ravel())


def green_channel(frame: np.ndarray) -> Tensor:
    img = frame[35:195:2, ::2, 1].astype(np.float32)
    img[(img == 144) | (img == 109)] = 0
    img[img != 0] = 1
    return torch.from_numpy(img.ravel())


def not_flattened(frame: np.ndarray) -> Tensor:
    img = frame[35:195:2, ::2, 0].astype(np.float32)
    img[(img == 144) | (img == 109)] = 0
    img[img != 0] = 1
    return torch.from_numpy(img)


def no_downsampling(frame: np.ndarray) -> Tensor:
    img = frame[35:195, :, 0].astype(np.float32)
    img[(img == 144) | (img == 109)] = 0
    img[img != 0] = 1
    return torch.from_numpy(img.ravel())


BUGGY = [
    (karpathy_view, "mutates_input"),
    (float64_result, "wrong_dtype"),
    (returns_numpy, "not_tensor"),
    (only_144, "background_kept"),
    (only_109, "background_kept"),
    (not_binarised, "not_binary"),
    (crop_off_by_one, "wrong_crop"),
    (odd_columns, "wrong_crop"),
    (green_channel, "wrong_channel"),
    (not_flattened, "wrong_shape"),
    (no_downsampling, "wrong_shape"),
]
