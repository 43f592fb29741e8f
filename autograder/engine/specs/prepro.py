"""prepro(frame) -> the 80x80 Pong playing field as a float32 vector of 6400 zeros and ones.

frame: 210x160x3 uint8. Crop rows 35..194, keep every second row and column of channel
0, erase the background values 144 and 109 (-> 0), set everything else non-zero to 1.
The frame passed in is not modified.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from autograder.engine.cases import EDGE, RANDOM, VISIBLE, Case
from autograder.engine.spec import BugModel, Spec, unpack_single

PARAMS = ("frame",)
OUT = "prepro(frame)"  # the name of the result in messages
BACKGROUNDS = {144: (144, 72, 17), 109: (109, 118, 43)}  # Pong's two background colours (RGB)
WALL = (236, 236, 236)
PADDLES = ((213, 130, 74), (92, 186, 92))
ROW0 = 35  # first row of the playing field


def image(
    frame: np.ndarray,
    row0: int = ROW0,
    col0: int = 0,
    channel: int = 0,
    erase: tuple[int, ...] = (144, 109),
    binary: bool = True,
) -> Tensor:
    """The preprocessing of the docstring as a float64 tensor of 6400; the keyword
    arguments describe typical slips (another crop, channel, background, no 0/1)."""
    img = frame[row0 : row0 + 160 : 2, col0 : col0 + 160 : 2, channel].astype(np.float64)
    for value in erase:
        img[img == value] = 0.0
    if binary:
        img[img != 0] = 1.0
    return torch.from_numpy(img.reshape(-1))


def reference(case: Case) -> dict[str, Tensor]:
    return {OUT: image(case.args[0])}


def _bug(code: str, message: str, **kw: object) -> BugModel:
    return BugModel(code, message, lambda c: {OUT: image(c.args[0], **kw)})


BUGS = (
    _bug(
        "background_kept", "keeps the background value 144: pixels equal to 144 must become 0.", erase=(109,)
    ),
    _bug(
        "background_kept", "keeps the background value 109: pixels equal to 109 must become 0.", erase=(144,)
    ),
    _bug("background_kept", "keeps the background: pixels equal to 144 or 109 must become 0.", erase=()),
    _bug(
        "not_binary",
        "keeps the raw pixel values: everything non-zero that is not background must be 1.",
        binary=False,
    ),
    _bug("wrong_channel", "uses channel 1 (green) instead of channel 0 (red).", channel=1),
    _bug("wrong_channel", "uses channel 2 (blue) instead of channel 0 (red).", channel=2),
    *(
        _bug("wrong_crop", f"keeps rows {r}, {r + 2}, ..., {r + 158} instead of 35, 37, ..., 193.", row0=r)
        for r in (33, 34, 36, 37)
    ),
    _bug("wrong_crop", "keeps the odd columns 1, 3, ... instead of the even columns 0, 2, ....", col0=1),
)


def pong_frame(seed: int, background: int = 144, objects: int = 6, specks: int = 40) -> np.ndarray:
    """A synthetic Pong frame: background, walls, score blocks, paddles, balls and a few
    random specks (colours other than the backgrounds), so that a wrong crop, row
    offset or channel changes the result."""
    rng = np.random.default_rng(seed)
    frame = np.empty((210, 160, 3), dtype=np.uint8)
    frame[:] = BACKGROUNDS[background]
    frame[24:34] = WALL
    frame[194:] = WALL
    for _ in range(objects):
        colour = PADDLES[int(rng.integers(0, 2))] if rng.random() < 0.7 else WALL
        r, c = int(rng.integers(0, 200)), int(rng.integers(0, 156))
        h, w = int(rng.integers(2, 17)), int(rng.integers(2, 5))
        frame[r : r + h, c : c + w] = colour
    rows = rng.integers(0, 210, size=specks)
    cols = rng.integers(0, 160, size=specks)
    values = rng.integers(1, 256, size=(specks, 3))
    values[np.isin(values[:, 0], (144, 109)), 0] = 200
    frame[rows, cols] = values
    return frame


def frame_case(id: str, kind: str, frame: np.ndarray, about: str) -> Case:
    return Case(id, kind, (frame,), about)


def hidden() -> list[Case]:
    cases = [
        frame_case(f"random-{i:02d}", RANDOM, pong_frame(5000 + i, objects=3 + i % 5), "a random Pong frame")
        for i in range(10)
    ]
    both = pong_frame(5100)
    both[115:195] = np.where(
        both[115:195] == np.array(BACKGROUNDS[144], np.uint8), BACKGROUNDS[109], both[115:195]
    )
    blank = pong_frame(5101, objects=0, specks=0)
    black = pong_frame(5102)
    black[60:70, 40:50] = 0
    read_only = pong_frame(5103)
    read_only.flags.writeable = False
    cases += [
        frame_case("edge-bg109", EDGE, pong_frame(5104, background=109), "background colour 109"),
        frame_case("edge-bg144+109", EDGE, both, "both background colours, 144 above and 109 below"),
        frame_case("edge-blank", EDGE, blank, "only background and walls: all zeros"),
        frame_case("edge-black", EDGE, black, "black (0) pixels in the field: they stay 0"),
        frame_case("edge-read-only", EDGE, read_only, "a read-only frame, as some gym versions return"),
        frame_case("edge-busy", EDGE, pong_frame(5105, objects=20, specks=2000), "a frame full of specks"),
    ]
    return cases


def visible() -> list[Case]:
    return [
        frame_case("visible-1", VISIBLE, pong_frame(5200), "a Pong frame"),
        frame_case("visible-2", VISIBLE, pong_frame(5201, objects=0, specks=0), "an empty field"),
    ]


SPEC = Spec(
    name="prepro",
    params=PARAMS,
    outputs=(OUT,),
    hidden=hidden,
    visible=visible,
    reference=reference,
    unpack=unpack_single(OUT),
    dtypes={OUT: torch.float32},
    bug_models=BUGS,
    hints={
        "mutates_input": "Slicing a numpy array gives a view, so frame[35:195] = ... or I[I == 144] = 0 on a "
        "slice writes into the caller's frame. Copy first, e.g. frame[35:195:2, ::2, 0].astype(np.float32) "
        "(astype copies), and leave the frame as it was: the training loop still needs it.",
        "wrong_shape": "Crop rows 35..194 (160 rows), keep every second row and column (80 x 80) and "
        "flatten to 6400 values.",
        "wrong_dtype": "Return float32, e.g. torch.from_numpy(img.astype(np.float32).ravel()).",
    },
)
