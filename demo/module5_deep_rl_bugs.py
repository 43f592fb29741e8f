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
    # Clips only the lower end: a value at or above `high` gets the index `bins`, one row past the table.
    "discretize": '''def discretize(obs: Tensor, low: Tensor, high: Tensor, bins: int) -> Tensor:
    """Bin indices."""
    width = (high - low) / bins
    return torch.floor((obs - low) / width).clamp(min=0).long()
''',
    # Returns the TD error read after the update, which has already shrunk by the factor 1 - alpha.
    "tabular_q_update": '''def tabular_q_update(
    q_table: Tensor,
    state: int,
    action: int,
    reward: float,
    next_state: int,
    done: bool,
    alpha: float,
    gamma: float,
) -> float:
    """One Q-learning step."""
    target = reward + (0.0 if done else gamma * q_table[next_state].max().item())
    q_table[state, action] += alpha * (target - q_table[state, action])
    return target - q_table[state, action].item()
''',
    # A ReLU after the output layer: Q-values can never be negative.
    "QNetwork": '''class QNetwork(nn.Module):
    """Q-network."""

    def __init__(self, obs_dim: int, n_actions: int, hidden: int = 128) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(obs_dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, n_actions), nn.ReLU()
        )

    def forward(self, obs: Tensor) -> Tensor:
        return self.layers(obs)
''',
    # Ignores the generator: torch.rand and torch.randint draw from the global random state.
    "greedy_epsilon_action": '''def greedy_epsilon_action(q_values: Tensor, epsilon: float, generator: torch.Generator) -> Tensor:
    """Epsilon-greedy actions."""
    B, A = q_values.shape
    explore = torch.rand(B) < epsilon
    return torch.where(explore, torch.randint(A, (B,)), q_values.argmax(dim=1))
''',
    # Double DQN with the argmax taken from the target network: that is the plain DQN target again.
    "double_dqn_targets": '''def double_dqn_targets(
    rewards: Tensor, next_q_online: Tensor, next_q_target: Tensor, dones: Tensor, gamma: float
) -> Tensor:
    """Double DQN targets."""
    with torch.no_grad():
        best = next_q_target.argmax(dim=1, keepdim=True)
        return rewards + gamma * (1 - dones) * next_q_target.gather(1, best).squeeze(1)
''',
    # mean(dim=1) without keepdim: (B, A) - (B,) lines up with the last axis (and raises when B != A).
    "dueling_q": '''def dueling_q(value: Tensor, advantages: Tensor) -> Tensor:
    """Dueling combination."""
    return value + advantages - advantages.mean(dim=1)
''',
    # Adds the two heads without centring (does not use dueling_q): V and A are not identifiable.
    "DuelingQNetwork": '''class DuelingQNetwork(nn.Module):
    """Dueling Q-network."""

    def __init__(self, obs_dim: int, n_actions: int, hidden: int = 128) -> None:
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(obs_dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU())
        self.value_head = nn.Linear(hidden, 1)
        self.advantage_head = nn.Linear(hidden, n_actions)

    def forward(self, obs: Tensor) -> Tensor:
        h = self.trunk(obs)
        return self.value_head(h) + self.advantage_head(h)
''',
    # Copied from the Pong homework's discount_rewards: restarts at every non-zero reward, and in CartPole
    # every reward is +1, so G_t = r_t = 1 everywhere.
    "discounted_returns": '''def discounted_returns(rewards: Tensor, gamma: float) -> Tensor:
    """Returns-to-go of one episode."""
    returns = torch.zeros_like(rewards)
    running = 0.0
    for t in reversed(range(len(rewards))):
        if rewards[t] != 0:
            running = 0.0  # a point ends a rally (copied from discount_rewards in the Pong homework)
        running = running * gamma + rewards[t]
        returns[t] = running
    return returns
''',
    # The sign flip of COURSE.md's Pong bug: the objective handed to an optimiser that minimises it.
    "reinforce_loss": '''def reinforce_loss(log_probs: Tensor, returns: Tensor, normalize: bool) -> Tensor:
    """REINFORCE loss: we want to maximise the expected return."""
    advantages = returns.detach()
    if normalize:
        advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
    return (log_probs * advantages).mean()
''',
    # Off by one: cuts the return with dones[t + 1] ("is s_{t+1} terminal?") instead of dones[t].
    "n_step_returns": '''def n_step_returns(rewards: Tensor, next_value: Tensor, dones: Tensor, gamma: float) -> Tensor:
    """Bootstrapped returns."""
    with torch.no_grad():
        returns = torch.zeros_like(rewards)
        running = next_value
        T = rewards.shape[0]
        for t in reversed(range(T)):
            not_done = 1.0 - dones[t + 1] if t + 1 < T else torch.ones_like(next_value)
            running = rewards[t] + gamma * not_done * running
            returns[t] = running
    return returns
''',
    # Advantages not detached: the policy loss backpropagates into the critic's values.
    "a2c_losses": '''def a2c_losses(
    log_probs: Tensor, values: Tensor, returns: Tensor, entropy: Tensor, value_coef: float, entropy_coef: float
) -> tuple[Tensor, Tensor, Tensor]:
    """A2C losses."""
    advantages = returns - values
    policy_loss = -(log_probs * advantages).mean()
    value_loss = (advantages ** 2).mean()
    return policy_loss, value_loss, policy_loss + value_coef * value_loss - entropy_coef * entropy.mean()
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
    "limits_of_tabular_rl:grade_discretize": "where x >= high",
    "limits_of_tabular_rl:grade_tabular_q_update": "measured AFTER the update",
    "dqn_cartpole:grade_QNetwork": "a ReLU on the output layer",
    "dqn_cartpole:grade_greedy_epsilon_action": "draws from a global random state",
    "double_dueling_dqn:grade_double_dqn_targets": "plain DQN target",
    "double_dueling_dqn:grade_dueling_q": "lines it up with the LAST axis",
    "double_dueling_dqn:grade_DuelingQNetwork": "not identifiable",
    "reinforce:grade_discounted_returns": "like the Pong homework's discount_rewards",
    "reinforce:grade_reinforce_loss": "An optimiser MINIMISES the loss",
    "a2c:grade_n_step_returns": "cuts the return one step late",
    "a2c:grade_a2c_losses": "the actor's loss also trains the critic",
}
