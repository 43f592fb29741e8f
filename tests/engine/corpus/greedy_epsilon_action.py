"""greedy_epsilon_action: correct implementations in several styles, and realistic bugs."""

from __future__ import annotations

import random

import numpy as np
import torch
from torch import Tensor

STUB = "greedy_epsilon_action"


# ---------------------------------------------------------------- correct


def where_vectorised(q_values: Tensor, epsilon: float, generator: torch.Generator) -> Tensor:
    B, A = q_values.shape
    explore = torch.rand(B, generator=generator) < epsilon
    random_actions = torch.randint(A, (B,), generator=generator)
    return torch.where(explore, random_actions, q_values.argmax(dim=1))


def randint_first(q_values: Tensor, epsilon: float, generator: torch.Generator) -> Tensor:
    B, A = q_values.shape
    random_actions = torch.randint(0, A, (B,), generator=generator)
    coins = torch.rand(B, generator=generator)
    actions = q_values.detach().argmax(dim=1).clone()
    actions[coins < epsilon] = random_actions[coins < epsilon]
    return actions


def only_explorers(q_values: Tensor, epsilon: float, generator: torch.Generator) -> Tensor:
    with torch.no_grad():
        actions = torch.argmax(q_values, dim=-1)
        mask = torch.rand(actions.shape, generator=generator) < epsilon
        n = int(mask.sum())
        if n:
            actions[mask] = torch.randint(q_values.shape[1], (n,), generator=generator)
    return actions


def multinomial_probs(q_values: Tensor, epsilon: float, generator: torch.Generator) -> Tensor:
    """Builds the epsilon-greedy distribution and samples from it."""
    B, A = q_values.shape
    probs = torch.full((B, A), epsilon / A, dtype=torch.float64)
    probs[torch.arange(B), q_values.detach().argmax(dim=1)] += 1.0 - epsilon
    return torch.multinomial(probs, 1, generator=generator).squeeze(1)


def row_loop(q_values: Tensor, epsilon: float, generator: torch.Generator) -> Tensor:
    B, A = q_values.shape
    greedy = q_values.argmax(dim=1).tolist()
    coins = torch.rand(B, generator=generator).tolist()
    out: list[int] = []
    for i in range(B):
        if coins[i] < epsilon:
            out.append(int(torch.randint(A, (1,), generator=generator)))
        else:
            out.append(greedy[i])
    return torch.tensor(out, dtype=torch.int64)


CORRECT = [where_vectorised, randint_first, only_explorers, multinomial_probs, row_loop]


# ---------------------------------------------------------------- buggy


def global_torch_rng(q_values: Tensor, epsilon: float, generator: torch.Generator) -> Tensor:
    B, A = q_values.shape
    explore = torch.rand(B) < epsilon
    return torch.where(explore, torch.randint(A, (B,)), q_values.argmax(dim=1))


def half_global(q_values: Tensor, epsilon: float, generator: torch.Generator) -> Tensor:
    B, A = q_values.shape
    explore = torch.rand(B, generator=generator) < epsilon
    return torch.where(explore, torch.randint(A, (B,)), q_values.argmax(dim=1))


def numpy_default_rng(q_values: Tensor, epsilon: float, generator: torch.Generator) -> Tensor:
    B, A = q_values.shape
    rng = np.random.default_rng()
    explore = torch.from_numpy(rng.random(B) < epsilon)
    random_actions = torch.from_numpy(rng.integers(0, A, size=B))
    return torch.where(explore, random_actions, q_values.argmax(dim=1))


def python_random_loop(q_values: Tensor, epsilon: float, generator: torch.Generator) -> Tensor:
    B, A = q_values.shape
    greedy = q_values.argmax(dim=1).tolist()
    return torch.tensor([random.randrange(A) if random.random() < epsilon else greedy[i] for i in range(B)])


def reversed_comparison(q_values: Tensor, epsilon: float, generator: torch.Generator) -> Tensor:
    B, A = q_values.shape
    explore = torch.rand(B, generator=generator) > epsilon
    return torch.where(explore, torch.randint(A, (B,), generator=generator), q_values.argmax(dim=1))


def one_coin_per_batch(q_values: Tensor, epsilon: float, generator: torch.Generator) -> Tensor:
    B, A = q_values.shape
    if float(torch.rand(1, generator=generator)) < epsilon:
        return torch.randint(A, (B,), generator=generator)
    return q_values.argmax(dim=1)


def randint_a_minus_1(q_values: Tensor, epsilon: float, generator: torch.Generator) -> Tensor:
    B, A = q_values.shape
    explore = torch.rand(B, generator=generator) < epsilon
    return torch.where(explore, torch.randint(0, A - 1, (B,), generator=generator), q_values.argmax(dim=1))


def randint_inclusive(q_values: Tensor, epsilon: float, generator: torch.Generator) -> Tensor:
    B, A = q_values.shape
    explore = torch.rand(B, generator=generator) < epsilon
    return torch.where(explore, torch.randint(0, A + 1, (B,), generator=generator), q_values.argmax(dim=1))


def other_actions_only(q_values: Tensor, epsilon: float, generator: torch.Generator) -> Tensor:
    B, A = q_values.shape
    greedy = q_values.argmax(dim=1)
    explore = torch.rand(B, generator=generator) < epsilon
    shift = torch.randint(1, max(A, 2), (B,), generator=generator)  # 1 .. A - 1 steps away
    return torch.where(explore & (A > 1), (greedy + shift) % A, greedy)


def argmin_greedy(q_values: Tensor, epsilon: float, generator: torch.Generator) -> Tensor:
    B, A = q_values.shape
    explore = torch.rand(B, generator=generator) < epsilon
    return torch.where(explore, torch.randint(A, (B,), generator=generator), q_values.argmin(dim=1))


def noise_into_q_values(q_values: Tensor, epsilon: float, generator: torch.Generator) -> Tensor:
    B, A = q_values.shape
    explore = torch.rand(B, generator=generator) < epsilon
    with torch.no_grad():
        q_values[explore] = torch.rand(int(explore.sum()), A, generator=generator, dtype=q_values.dtype)
    return q_values.argmax(dim=1)


def float_actions(q_values: Tensor, epsilon: float, generator: torch.Generator) -> Tensor:
    B, A = q_values.shape
    explore = torch.rand(B, generator=generator) < epsilon
    random_actions = torch.floor(torch.rand(B, generator=generator) * A)
    return torch.where(explore, random_actions, q_values.argmax(dim=1).float())


BUGGY = [
    (global_torch_rng, "global_rng"),
    (half_global, "global_rng"),
    (numpy_default_rng, "ignores_generator"),
    (python_random_loop, "global_rng"),
    (reversed_comparison, "reversed_epsilon"),
    (one_coin_per_batch, "always_explores"),
    (randint_a_minus_1, "off_by_one"),
    (randint_inclusive, "out_of_range"),
    (other_actions_only, "explores_other_actions"),
    (argmin_greedy, "argmin"),
    (noise_into_q_values, "mutates_input"),
    (float_actions, "wrong_dtype"),
]
