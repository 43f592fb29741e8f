"""action_log_probs: correct implementations in several styles, and realistic bugs."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.distributions import Categorical

STUB = "action_log_probs"


# ---------------------------------------------------------------- correct


def log_softmax_gather(logits: Tensor, actions: Tensor) -> Tensor:
    return torch.log_softmax(logits, dim=1).gather(1, actions.unsqueeze(1)).squeeze(1)


def fancy_indexing(logits: Tensor, actions: Tensor) -> Tensor:
    return F.log_softmax(logits, dim=-1)[torch.arange(logits.shape[0]), actions]


def distribution(logits: Tensor, actions: Tensor) -> Tensor:
    return Categorical(logits=logits).log_prob(actions)


def logsumexp(logits: Tensor, actions: Tensor) -> Tensor:
    chosen = logits.gather(1, actions[:, None]).squeeze(1)
    return chosen - torch.logsumexp(logits, dim=1)


def max_trick(logits: Tensor, actions: Tensor) -> Tensor:
    shifted = logits - logits.max(dim=1, keepdim=True).values
    log_z = torch.log(torch.exp(shifted).sum(dim=1))
    return shifted[torch.arange(len(actions)), actions] - log_z


def negative_cross_entropy(logits: Tensor, actions: Tensor) -> Tensor:
    return -F.cross_entropy(logits, actions, reduction="none")


CORRECT = [log_softmax_gather, fancy_indexing, distribution, logsumexp, max_trick, negative_cross_entropy]


# ---------------------------------------------------------------- buggy


def log_of_softmax(logits: Tensor, actions: Tensor) -> Tensor:
    probs = torch.softmax(logits, dim=1)
    return torch.log(probs[torch.arange(len(actions)), actions])


def over_the_batch(logits: Tensor, actions: Tensor) -> Tensor:
    return torch.log_softmax(logits, dim=0).gather(1, actions[:, None]).squeeze(1)


def probabilities(logits: Tensor, actions: Tensor) -> Tensor:
    return torch.softmax(logits, dim=1).gather(1, actions[:, None]).squeeze(1)


def raw_logits(logits: Tensor, actions: Tensor) -> Tensor:
    return logits.gather(1, actions[:, None]).squeeze(1)


def positional_probs(logits: Tensor, actions: Tensor) -> Tensor:
    """Categorical's first argument is probs, not logits."""
    return Categorical(logits).log_prob(actions)


def keeps_all_actions(logits: Tensor, actions: Tensor) -> Tensor:
    return torch.log_softmax(logits, dim=1)


def mean_cross_entropy(logits: Tensor, actions: Tensor) -> Tensor:
    return -F.cross_entropy(logits, actions)


def cross_entropy_sign(logits: Tensor, actions: Tensor) -> Tensor:
    return F.cross_entropy(logits, actions, reduction="none")


def float_habit(logits: Tensor, actions: Tensor) -> Tensor:
    return torch.log_softmax(logits.float(), dim=1).gather(1, actions[:, None]).squeeze(1)


BUGGY = [
    (log_of_softmax, "not_finite"),
    (over_the_batch, "softmax_over_batch"),
    (probabilities, "missing_log"),
    (raw_logits, "missing_softmax"),
    (positional_probs, "raised"),
    (keeps_all_actions, "wrong_shape"),
    (mean_cross_entropy, "wrong_shape"),
    (cross_entropy_sign, "opposite_sign"),
    (float_habit, "wrong_dtype"),
]
