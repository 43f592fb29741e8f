# ruff: noqa: E501  (the cells are notebook code, kept as students wrote them)
"""Demo student `ben`: typical bugs in Module 5, experience replay and target networks.

Maps a stub's grade_id to the whole cell ben submits. `rlgrade build` writes
ben's notebooks from these; the tests expect each to lose points.
"""

BUGS: dict[str, str] = {
    # Off-by-one circular index: the write position moves BEFORE the transition is written, so push i
    # lands in slot (i + 1) % capacity and slot 0 holds zeros until the buffer is full.
    "ReplayBuffer": '''class ReplayBuffer:
    """Fixed-size memory of transitions."""

    def __init__(self, capacity: int, obs_dim: int) -> None:
        self.capacity = capacity
        self.obs = torch.zeros(capacity, obs_dim)
        self.next_obs = torch.zeros(capacity, obs_dim)
        self.actions = torch.zeros(capacity, dtype=torch.int64)
        self.rewards = torch.zeros(capacity)
        self.dones = torch.zeros(capacity)
        self.pos = 0
        self.size = 0

    def push(self, obs: Any, action: int, reward: float, next_obs: Any, done: bool) -> None:
        self.pos = (self.pos + 1) % self.capacity
        self.obs[self.pos] = torch.as_tensor(obs)
        self.next_obs[self.pos] = torch.as_tensor(next_obs)
        self.actions[self.pos] = action
        self.rewards[self.pos] = reward
        self.dones[self.pos] = float(done)
        self.size = min(self.size + 1, self.capacity)

    def __len__(self) -> int:
        return self.size

    def sample(self, batch_size: int, generator: torch.Generator) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
        if batch_size > self.size:
            raise ValueError(f"cannot sample {batch_size} transitions from {self.size}")
        idx = torch.randint(self.size, (batch_size,), generator=generator)
        return self.obs[idx], self.actions[idx], self.rewards[idx], self.next_obs[idx], self.dones[idx]
''',
    # Forgets (1 - done): terminal transitions bootstrap from the next state as if the episode went on.
    "td_targets": '''def td_targets(rewards: Tensor, next_q_target: Tensor, dones: Tensor, gamma: float) -> Tensor:
    """TD targets."""
    with torch.no_grad():
        return rewards + gamma * next_q_target.max(dim=1).values
''',
    # gather gives (B, 1); (B, 1) - (B,) broadcasts to a (B, B) matrix of every pair.
    "dqn_loss": '''def dqn_loss(q_online: Tensor, actions: Tensor, targets: Tensor) -> Tensor:
    """Mean squared TD error."""
    q_taken = q_online.gather(1, actions.unsqueeze(1))
    return ((q_taken - targets) ** 2).mean()
''',
    # Assigns the online tensors to the target dict: the two networks now share their weights.
    "hard_update": '''def hard_update(target: dict[str, Tensor], online: dict[str, Tensor]) -> None:
    """Copy the online weights into the target."""
    for k in target:
        target[k] = online[k]
''',
    # tau and 1 - tau swapped: the target jumps almost all the way to the online network.
    "soft_update": '''def soft_update(target: dict[str, Tensor], online: dict[str, Tensor], tau: float) -> None:
    """Polyak update."""
    with torch.no_grad():
        for k in target:
            target[k].copy_((1 - tau) * online[k] + tau * target[k])
''',
    # No clamp: epsilon keeps falling after decay_steps, below `end` and then negative.
    "epsilon_by_step": '''def epsilon_by_step(step: int, start: float, end: float, decay_steps: int) -> float:
    """Linear epsilon schedule."""
    return start - (start - end) * step / decay_steps
''',
}

# The test cells these bugs must lose points on, and the words the feedback must use.
LOSES: dict[str, str] = {
    "replay_and_target_networks:grade_ReplayBuffer": "write position that moves BEFORE the transition is written",
    "replay_and_target_networks:grade_td_targets": "bootstraps from terminal transitions",
    "replay_and_target_networks:grade_dqn_loss": "broadcasting makes a (B, B) matrix",
    "replay_and_target_networks:grade_hard_update": "share their tensors",
    "replay_and_target_networks:grade_soft_update": "tau is the weight of the ONLINE network",
    "replay_and_target_networks:grade_epsilon_by_step": "keeps decreasing after decay_steps",
}
