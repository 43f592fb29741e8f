"""autograder.datasets: MNIST for students, a deterministic offline stand-in everywhere else."""

from __future__ import annotations

import socket
import warnings
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
import torchvision.datasets

from autograder import datasets
from autograder.datasets import digits_stand_in, load_mnist


class NetworkUsed(AssertionError):
    pass


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may open a connection, and the environment starts clean."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise NetworkUsed("a test tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.delenv("RLCOURSE_OFFLINE", raising=False)
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)


def forbid_torchvision(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("torchvision's MNIST must not be tried here")

    monkeypatch.setattr(torchvision.datasets, "MNIST", refuse)


@pytest.mark.parametrize("train, size", [(True, 1437), (False, 360)])
def test_stand_in_looks_like_mnist(train: bool, size: int) -> None:
    images, labels = digits_stand_in(train)
    assert images.shape == (size, 28, 28) and images.dtype == torch.uint8
    assert labels.shape == (size,) and labels.dtype == torch.int64
    assert set(labels.tolist()) == set(range(10))
    assert int(images.max()) > 200, "digits should use the 0..255 range like MNIST"
    border = torch.cat(
        [
            images[:, :4].flatten(),
            images[:, -4:].flatten(),
            images[:, :, :4].flatten(),
            images[:, :, -4:].flatten(),
        ]
    )
    assert int(border.max()) == 0, "the digit sits in the central 20x20 box, like MNIST"


def test_stand_in_is_deterministic_and_splits_are_disjoint() -> None:
    train_a, labels_a = digits_stand_in(True)
    train_b, labels_b = digits_stand_in(True)
    assert torch.equal(train_a, train_b) and torch.equal(labels_a, labels_b)
    test_images, _ = digits_stand_in(False)
    train_rows = {bytes(image.flatten().tolist()) for image in train_a}
    overlap = sum(bytes(image.flatten().tolist()) in train_rows for image in test_images)
    assert overlap < 5, "the test split should not repeat the training images"


@pytest.mark.parametrize("value", ["1", "true", "YES"])
def test_offline_variable_uses_stand_in_without_trying_mnist(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path, value: str
) -> None:
    monkeypatch.setenv("RLCOURSE_OFFLINE", value)
    forbid_torchvision(monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        images, labels = load_mnist(train=False, root=tmp_path)
    assert torch.equal(images, digits_stand_in(False)[0]) and torch.equal(labels, digits_stand_in(False)[1])
    out, err = capsys.readouterr()
    assert err == ""
    assert out.count("\n") == 1 and "stand-in" in out and "RLCOURSE_OFFLINE" in out
    assert not any(tmp_path.iterdir()), "nothing is written in offline mode"


def test_grading_uses_stand_in_without_trying_mnist(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    forbid_torchvision(monkeypatch)
    images, _ = load_mnist(root=tmp_path)
    assert images.shape == (1437, 28, 28)
    out, err = capsys.readouterr()
    assert "NBGRADER_EXECUTION" in out and err == ""


def test_offline_variable_zero_still_tries_mnist(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RLCOURSE_OFFLINE", "0")
    assert datasets.offline_reason() is None


def test_failed_download_falls_back_with_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    def unreachable(root: str, train: bool = True, download: bool = False) -> None:
        if not download:
            raise RuntimeError("Dataset not found. You can use download=True to download it")
        print("Downloading http://example.invalid/train-images-idx3-ubyte.gz")  # chatter to hide
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz:\nTried mirror, got:\nno network")

    monkeypatch.setattr(torchvision.datasets, "MNIST", unreachable)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        images, labels = load_mnist(train=True, root=tmp_path)
    assert images.shape == (1437, 28, 28) and labels.dtype == torch.int64
    out, err = capsys.readouterr()
    assert err == "" and "example.invalid" not in out
    last = out.strip().splitlines()[-1]
    assert "stand-in" in last and "could not be loaded" in last and "no network" in last


def test_real_mnist_is_returned_as_uint8_and_int64(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    calls: list[tuple[str, bool, bool]] = []

    def already_downloaded(root: str, train: bool = True, download: bool = False) -> SimpleNamespace:
        calls.append((root, train, download))
        n = 6 if train else 4
        return SimpleNamespace(
            data=torch.full((n, 28, 28), 7, dtype=torch.uint8), targets=torch.arange(n, dtype=torch.int64)
        )

    monkeypatch.setattr(torchvision.datasets, "MNIST", already_downloaded)
    images, labels = load_mnist(train=False, root=tmp_path)
    assert images.shape == (4, 28, 28) and images.dtype == torch.uint8
    assert labels.tolist() == [0, 1, 2, 3]
    assert calls == [(str(tmp_path), False, False)]
    assert capsys.readouterr().out == ""


def test_default_root_is_the_course_cache() -> None:
    assert datasets.DEFAULT_ROOT.expanduser() == Path.home() / ".cache" / "rlcourse" / "mnist"
