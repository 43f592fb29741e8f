"""hard_update(target, online) -> None: target[k] <- online[k] for every key, in place (the
target network becomes a copy of the online network). See target_updates."""

from __future__ import annotations

from autograder.engine.specs.target_updates import make_spec

SPEC = make_spec(
    "hard_update",
    ("target", "online"),
    (),
    seed=13000,
    hints={"wrong_values": "Copy every tensor: target[k].copy_(online[k]) under torch.no_grad()."},
)
