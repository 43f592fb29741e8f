"""tabular_q_update: correct implementations in several styles, and realistic bugs."""

from __future__ import annotations

import torch
from torch import Tensor

STUB = "tabular_q_update"


# ---------------------------------------------------------------- correct


def plain(
    q_table: Tensor,
    state: int,
    action: int,
    reward: float,
    next_state: int,
    done: bool,
    alpha: float,
    gamma: float,
) -> float:
    target = reward + (0.0 if done else gamma * float(q_table[next_state].max()))
    td_error = target - float(q_table[state, action])
    q_table[state, action] += alpha * td_error
    return td_error


def tensor_ops(
    q_table: Tensor,
    state: int,
    action: int,
    reward: float,
    next_state: int,
    done: bool,
    alpha: float,
    gamma: float,
) -> float:
    bootstrap = q_table[next_state].amax() * (1.0 - float(done))
    td = reward + gamma * bootstrap - q_table[state, action]
    q_table[state, action].add_(alpha * td)
    return td.item()


def not_done_mask(
    q_table: Tensor,
    state: int,
    action: int,
    reward: float,
    next_state: int,
    done: bool,
    alpha: float,
    gamma: float,
) -> float:
    with torch.no_grad():
        best_next = torch.max(q_table[next_state, :])
        td = reward + gamma * best_next * (not done) - q_table[state][action]
        q_table[state][action] = q_table[state][action] + alpha * td
    return float(td)


def returns_tensor(
    q_table: Tensor,
    state: int,
    action: int,
    reward: float,
    next_state: int,
    done: bool,
    alpha: float,
    gamma: float,
) -> float:
    old = q_table[state, action].clone()
    target = torch.tensor(reward, dtype=q_table.dtype)
    if not done:
        target = target + gamma * q_table[next_state].max()
    q_table[state, action] = (1 - alpha) * old + alpha * target
    return target - old  # a 0-d tensor is accepted


def python_lists(
    q_table: Tensor,
    state: int,
    action: int,
    reward: float,
    next_state: int,
    done: bool,
    alpha: float,
    gamma: float,
) -> float:
    row = q_table[next_state].tolist()
    target = reward if done else reward + gamma * max(row)
    current = q_table[state, action].item()
    delta = target - current
    q_table[state, action] = current + alpha * delta
    return delta


CORRECT = [plain, tensor_ops, not_done_mask, returns_tensor, python_lists]


# ---------------------------------------------------------------- buggy


def bootstraps_terminal(
    q_table: Tensor,
    state: int,
    action: int,
    reward: float,
    next_state: int,
    done: bool,
    alpha: float,
    gamma: float,
) -> float:
    td = reward + gamma * float(q_table[next_state].max()) - float(q_table[state, action])
    q_table[state, action] += alpha * td
    return td


def error_after_update(
    q_table: Tensor,
    state: int,
    action: int,
    reward: float,
    next_state: int,
    done: bool,
    alpha: float,
    gamma: float,
) -> float:
    target = reward + (0.0 if done else gamma * float(q_table[next_state].max()))
    q_table[state, action] += alpha * (target - q_table[state, action])
    return target - float(q_table[state, action])


def recomputes_after_update(
    q_table: Tensor,
    state: int,
    action: int,
    reward: float,
    next_state: int,
    done: bool,
    alpha: float,
    gamma: float,
) -> float:
    def td() -> float:
        bootstrap = 0.0 if done else gamma * float(q_table[next_state].max())
        return reward + bootstrap - float(q_table[state, action])

    q_table[state, action] += alpha * td()
    return td()


def mean_bootstrap(
    q_table: Tensor,
    state: int,
    action: int,
    reward: float,
    next_state: int,
    done: bool,
    alpha: float,
    gamma: float,
) -> float:
    target = reward + (0.0 if done else gamma * float(q_table[next_state].mean()))
    td = target - float(q_table[state, action])
    q_table[state, action] += alpha * td
    return td


def sarsa_like(
    q_table: Tensor,
    state: int,
    action: int,
    reward: float,
    next_state: int,
    done: bool,
    alpha: float,
    gamma: float,
) -> float:
    target = reward + (0.0 if done else gamma * float(q_table[next_state, action]))
    td = target - float(q_table[state, action])
    q_table[state, action] += alpha * td
    return td


def adds_alpha_target(
    q_table: Tensor,
    state: int,
    action: int,
    reward: float,
    next_state: int,
    done: bool,
    alpha: float,
    gamma: float,
) -> float:
    target = reward + (0.0 if done else gamma * float(q_table[next_state].max()))
    td = target - float(q_table[state, action])
    q_table[state, action] += alpha * target
    return td


def updates_row(
    q_table: Tensor,
    state: int,
    action: int,
    reward: float,
    next_state: int,
    done: bool,
    alpha: float,
    gamma: float,
) -> float:
    target = reward + (0.0 if done else gamma * float(q_table[next_state].max()))
    td = target - float(q_table[state, action])
    q_table[state] += alpha * td
    return td


def copies_the_table(
    q_table: Tensor,
    state: int,
    action: int,
    reward: float,
    next_state: int,
    done: bool,
    alpha: float,
    gamma: float,
) -> float:
    q_table = q_table.clone()
    target = reward + (0.0 if done else gamma * float(q_table[next_state].max()))
    td = target - float(q_table[state, action])
    q_table[state, action] += alpha * td
    return td


def sign_flipped(
    q_table: Tensor,
    state: int,
    action: int,
    reward: float,
    next_state: int,
    done: bool,
    alpha: float,
    gamma: float,
) -> float:
    target = reward + (0.0 if done else gamma * float(q_table[next_state].max()))
    td = float(q_table[state, action]) - target
    q_table[state, action] -= alpha * td
    return td


def done_inverted(
    q_table: Tensor,
    state: int,
    action: int,
    reward: float,
    next_state: int,
    done: bool,
    alpha: float,
    gamma: float,
) -> float:
    target = reward + gamma * float(q_table[next_state].max()) * float(done)
    td = target - float(q_table[state, action])
    q_table[state, action] += alpha * td
    return td


BUGGY = [
    (bootstraps_terminal, "terminal_bootstrap"),
    (error_after_update, "error_after_update"),
    (recomputes_after_update, "error_after_update"),
    (mean_bootstrap, "not_max"),
    (sarsa_like, "not_max"),
    (adds_alpha_target, "update_form"),
    (updates_row, "wrong_entry"),
    (copies_the_table, "no_update"),
    (sign_flipped, "opposite_sign"),
    (done_inverted, "terminal_bootstrap"),
]
