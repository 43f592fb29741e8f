"""soft_update(target, online, tau) -> None: Polyak averaging, in place,
target[k] <- tau * online[k] + (1 - tau) * target[k]. See target_updates."""

from __future__ import annotations

from autograder.engine.specs.target_updates import bug, make_spec

BUGS = (
    bug(
        "swapped_tau",
        "matches tau * target + (1 - tau) * online: tau is the weight of the ONLINE network (small, e.g. "
        "0.005), so the target moves a little towards it: tau * online[k] + (1 - tau) * target[k].",
        "swapped",
    ),
    bug(
        "polyak_formula",
        "matches target + tau * online: the old target must be scaled by (1 - tau), "
        "target[k].mul_(1 - tau).add_(tau * online[k]).",
        "no_decay",
    ),
    bug(
        "polyak_formula",
        "is a hard copy of the online network: a soft update moves the target only a fraction tau "
        "of the way, "
        "tau * online[k] + (1 - tau) * target[k].",
        "hard",
        near_miss=False,
    ),
)

SPEC = make_spec(
    "soft_update",
    ("target", "online", "tau"),
    BUGS,
    seed=14000,
    hints={
        "wrong_values": "target[k] <- tau * online[k] + (1 - tau) * target[k], e.g. "
        "target[k].lerp_(online[k], tau) under torch.no_grad().",
        "scaled": "target[k] <- tau * online[k] + (1 - tau) * target[k].",
    },
)
