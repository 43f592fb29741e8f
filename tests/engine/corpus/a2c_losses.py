"""a2c_losses: correct implementations in several styles, and realistic bugs."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

STUB = "a2c_losses"


# ---------------------------------------------------------------- correct


def plain(
    log_probs: Tensor,
    values: Tensor,
    returns: Tensor,
    entropy: Tensor,
    value_coef: float,
    entropy_coef: float,
) -> tuple[Tensor, Tensor, Tensor]:
    advantages = returns - values.detach()
    policy_loss = -(log_probs * advantages).mean()
    value_loss = ((returns - values) ** 2).mean()
    return policy_loss, value_loss, policy_loss + value_coef * value_loss - entropy_coef * entropy.mean()


def with_mse(
    log_probs: Tensor,
    values: Tensor,
    returns: Tensor,
    entropy: Tensor,
    value_coef: float,
    entropy_coef: float,
) -> tuple[Tensor, Tensor, Tensor]:
    with torch.no_grad():
        adv = returns - values
    policy_loss = torch.mean(-log_probs * adv)
    value_loss = F.mse_loss(values, returns)
    entropy_bonus = entropy.mean()
    total = policy_loss + value_coef * value_loss - entropy_coef * entropy_bonus
    return policy_loss, value_loss, total


def flattened(
    log_probs: Tensor,
    values: Tensor,
    returns: Tensor,
    entropy: Tensor,
    value_coef: float,
    entropy_coef: float,
) -> tuple[Tensor, Tensor, Tensor]:
    lp, v, r, h = (x.reshape(-1) for x in (log_probs, values, returns, entropy))
    adv = (r - v).detach()
    policy_loss = -(lp @ adv) / lp.numel()
    value_loss = (r - v).pow(2).sum() / v.numel()
    total = policy_loss + value_coef * value_loss + (-entropy_coef) * h.mean()
    return policy_loss, value_loss, total


def squared_norm(
    log_probs: Tensor,
    values: Tensor,
    returns: Tensor,
    entropy: Tensor,
    value_coef: float,
    entropy_coef: float,
) -> tuple[Tensor, Tensor, Tensor]:
    td_error = returns.detach() - values
    policy_loss = -(log_probs * td_error.detach()).mean()
    value_loss = td_error.square().mean()
    total = policy_loss - entropy_coef * entropy.mean()
    total = total + value_coef * value_loss
    return policy_loss, value_loss, total


def separate_terms(
    log_probs: Tensor,
    values: Tensor,
    returns: Tensor,
    entropy: Tensor,
    value_coef: float,
    entropy_coef: float,
) -> tuple[Tensor, Tensor, Tensor]:
    advantages = returns - values.detach()
    actor = (-log_probs * advantages).mean()
    critic = torch.mean(torch.square(values - returns))
    entropy_loss = -entropy.mean()
    return actor, critic, actor + value_coef * critic + entropy_coef * entropy_loss


CORRECT = [plain, with_mse, flattened, squared_norm, separate_terms]


# ---------------------------------------------------------------- buggy


def not_detached(
    log_probs: Tensor,
    values: Tensor,
    returns: Tensor,
    entropy: Tensor,
    value_coef: float,
    entropy_coef: float,
) -> tuple[Tensor, Tensor, Tensor]:
    advantages = returns - values
    policy_loss = -(log_probs * advantages).mean()
    value_loss = advantages.pow(2).mean()
    return policy_loss, value_loss, policy_loss + value_coef * value_loss - entropy_coef * entropy.mean()


def entropy_added(
    log_probs: Tensor,
    values: Tensor,
    returns: Tensor,
    entropy: Tensor,
    value_coef: float,
    entropy_coef: float,
) -> tuple[Tensor, Tensor, Tensor]:
    advantages = returns - values.detach()
    policy_loss = -(log_probs * advantages).mean()
    value_loss = ((returns - values) ** 2).mean()
    return policy_loss, value_loss, policy_loss + value_coef * value_loss + entropy_coef * entropy.mean()


def abs_value_loss(
    log_probs: Tensor,
    values: Tensor,
    returns: Tensor,
    entropy: Tensor,
    value_coef: float,
    entropy_coef: float,
) -> tuple[Tensor, Tensor, Tensor]:
    advantages = returns - values.detach()
    policy_loss = -(log_probs * advantages).mean()
    value_loss = (returns - values).abs().mean()
    return policy_loss, value_loss, policy_loss + value_coef * value_loss - entropy_coef * entropy.mean()


def no_value_coef(
    log_probs: Tensor,
    values: Tensor,
    returns: Tensor,
    entropy: Tensor,
    value_coef: float,
    entropy_coef: float,
) -> tuple[Tensor, Tensor, Tensor]:
    advantages = returns - values.detach()
    policy_loss = -(log_probs * advantages).mean()
    value_loss = ((returns - values) ** 2).mean()
    return policy_loss, value_loss, policy_loss + value_loss - entropy_coef * entropy.mean()


def uses_returns(
    log_probs: Tensor,
    values: Tensor,
    returns: Tensor,
    entropy: Tensor,
    value_coef: float,
    entropy_coef: float,
) -> tuple[Tensor, Tensor, Tensor]:
    policy_loss = -(log_probs * returns).mean()
    value_loss = ((returns - values) ** 2).mean()
    return policy_loss, value_loss, policy_loss + value_coef * value_loss - entropy_coef * entropy.mean()


def half_mse(
    log_probs: Tensor,
    values: Tensor,
    returns: Tensor,
    entropy: Tensor,
    value_coef: float,
    entropy_coef: float,
) -> tuple[Tensor, Tensor, Tensor]:
    advantages = returns - values.detach()
    policy_loss = -(log_probs * advantages).mean()
    value_loss = 0.5 * ((returns - values) ** 2).mean()
    return policy_loss, value_loss, policy_loss + value_coef * value_loss - entropy_coef * entropy.mean()


def ascent_policy(
    log_probs: Tensor,
    values: Tensor,
    returns: Tensor,
    entropy: Tensor,
    value_coef: float,
    entropy_coef: float,
) -> tuple[Tensor, Tensor, Tensor]:
    advantages = returns - values.detach()
    policy_loss = (log_probs * advantages).mean()
    value_loss = ((returns - values) ** 2).mean()
    return policy_loss, value_loss, policy_loss + value_coef * value_loss - entropy_coef * entropy.mean()


def summed_losses(
    log_probs: Tensor,
    values: Tensor,
    returns: Tensor,
    entropy: Tensor,
    value_coef: float,
    entropy_coef: float,
) -> tuple[Tensor, Tensor, Tensor]:
    advantages = returns - values.detach()
    policy_loss = -(log_probs * advantages).sum()
    value_loss = ((returns - values) ** 2).sum()
    return policy_loss, value_loss, policy_loss + value_coef * value_loss - entropy_coef * entropy.sum()


def two_items(
    log_probs: Tensor,
    values: Tensor,
    returns: Tensor,
    entropy: Tensor,
    value_coef: float,
    entropy_coef: float,
) -> tuple[Tensor, Tensor]:
    advantages = returns - values.detach()
    policy_loss = -(log_probs * advantages).mean()
    value_loss = ((returns - values) ** 2).mean()
    return policy_loss, value_loss


BUGGY = [
    (not_detached, "advantage_not_detached"),
    (entropy_added, "entropy_sign"),
    (abs_value_loss, "value_loss_form"),
    (no_value_coef, "missing_value_coef"),
    (uses_returns, "returns_not_advantages"),
    (half_mse, "scaled"),
    (ascent_policy, "opposite_sign"),
    (summed_losses, "scaled"),
    (two_items, "bad_return"),
]
