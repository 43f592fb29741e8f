# ruff: noqa: E501  (the cells are notebook code, kept as students wrote them)
"""Demo student `ben`: typical bugs in the Module 3 neural-network building blocks.

Maps a stub's grade_id to the whole cell ben submits. `rlgrade build` writes
ben's notebooks from these; the tests expect each to lose points.
"""

BUGS: dict[str, str] = {
    # The textbook formula e^z / (1 + e^z): inf / inf = NaN once exp(z) overflows (z > 709, or z > 88 in float32).
    "sigmoid_and_grad": '''def sigmoid_and_grad(z: Tensor) -> tuple[Tensor, Tensor]:
    """Sigmoid and its derivative."""
    e = torch.exp(z)
    s = e / (1 + e)
    return s, s * (1 - s)
''',
    # Forgets the square: d/dz tanh(z) = 1 - tanh(z)**2, not 1 - tanh(z).
    "tanh_and_grad": '''def tanh_and_grad(z: Tensor) -> tuple[Tensor, Tensor]:
    """tanh and its derivative."""
    t = torch.tanh(z)
    return t, 1 - t
''',
    # Backpropagates through the ReLU as if it were the identity: no mask for inactive units.
    "backprop_by_hand": '''def backprop_by_hand(x: Tensor, y: Tensor, W1: Tensor, W2: Tensor) -> tuple[Tensor, Tensor]:
    """Gradients of the two-layer net by hand."""
    h = torch.relu(x @ W1)
    p = torch.sigmoid(h @ W2.T).squeeze(-1)
    dz2 = (p - y) / x.shape[0]
    dW2 = dz2[None, :] @ h
    dh = dz2[:, None] * W2
    dW1 = x.T @ dh
    return dW1, dW2
''',
    # Never clears the gradients, so whatever .grad held before the call is added to the measurement.
    "mean_abs_grad_per_layer": '''def mean_abs_grad_per_layer(model: nn.Module, x: Tensor, y: Tensor) -> list[float]:
    """Mean |gradient| of every Linear layer's weights."""
    loss = F.binary_cross_entropy_with_logits(model(x).squeeze(-1), y)
    loss.backward()
    return [m.weight.grad.abs().mean().item() for m in model.modules() if isinstance(m, nn.Linear)]
''',
    # Vectorises the epoch: all mistakes are found with the starting weights and added at once.
    "perceptron_epoch": '''def perceptron_epoch(w: Tensor, b: Tensor, X: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    """One epoch of the perceptron rule."""
    wrong = (y * (X @ w + b) <= 0).to(w.dtype)
    return w + (wrong * y) @ X, b + (wrong * y).sum()
''',
    # Applies the softmax to the output: the logits must be the raw scores.
    "mlp_forward": '''def mlp_forward(x: Tensor, W1: Tensor, b1: Tensor, W2: Tensor, b2: Tensor) -> Tensor:
    """Forward pass of the two-layer network."""
    h = torch.relu(x @ W1 + b1)
    return torch.softmax(h @ W2 + b2, dim=1)
''',
    # Rebinds the loop variable: a new tensor is made, the parameters in the dict never change.
    "sgd_update": '''def sgd_update(params: dict[str, Tensor], grads: dict[str, Tensor], lr: float) -> None:
    """One gradient-descent step."""
    for k, p in params.items():
        p = p - lr * grads[k]
''',
    # Forgets to rescale the kept activations by 1 / (1 - p).
    "dropout_forward": '''def dropout_forward(x: Tensor, p: float, training: bool, generator: torch.Generator | None = None) -> Tensor:
    """Inverted dropout."""
    if not training:
        return x
    keep = torch.rand(x.shape, generator=generator) >= p
    return x * keep
''',
    # torch.var divides by N - 1 by default: batch norm uses the biased variance.
    "batchnorm_forward": '''def batchnorm_forward(x: Tensor, gamma: Tensor, beta: Tensor, eps: float = 1e-5) -> Tensor:
    """Batch normalisation, training mode."""
    return gamma * (x - x.mean(dim=0)) / torch.sqrt(x.var(dim=0) + eps) + beta
''',
    # Treats the batch mean and variance as constants: only the direct path of the gradient.
    "batchnorm_backward": '''def batchnorm_backward(dout: Tensor, x: Tensor, gamma: Tensor, eps: float = 1e-5) -> tuple[Tensor, Tensor, Tensor]:
    """Backward pass of batch normalisation."""
    s = torch.sqrt(x.var(dim=0, unbiased=False) + eps)
    x_hat = (x - x.mean(dim=0)) / s
    return dout * gamma / s, (dout * x_hat).sum(dim=0), dout.sum(dim=0)
''',
    # Puts a softmax on the policy head: the head must return raw logits.
    "ActorCritic": '''class ActorCritic(nn.Module):
    """Policy and value heads on a shared trunk."""

    def __init__(self, obs_dim: int, n_actions: int, hidden: int) -> None:
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(obs_dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU())
        self.policy_head = nn.Linear(hidden, n_actions)
        self.value_head = nn.Linear(hidden, 1)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = self.trunk(x)
        return torch.softmax(self.policy_head(h), dim=-1), self.value_head(h).squeeze(-1)
''',
    # log(softmax(...)): log(0) = -inf once a probability underflows (large logits).
    "action_log_probs": '''def action_log_probs(logits: Tensor, actions: Tensor) -> Tensor:
    """log pi(a | s) of the taken actions."""
    probs = torch.softmax(logits, dim=1)
    return torch.log(probs[torch.arange(len(actions)), actions])
''',
    # Advanced indexing with += adds 1 only once per repeated (true, predicted) pair.
    "confusion_matrix": '''def confusion_matrix(predictions: Tensor, labels: Tensor, num_classes: int) -> Tensor:
    """Confusion matrix, rows = true class."""
    m = torch.zeros(num_classes, num_classes, dtype=torch.int64)
    m[labels, predictions] += 1
    return m
''',
}

# The test cells these bugs must lose points on, and the verdict the feedback must name.
LOSES: dict[str, str] = {
    "activations:grade_sigmoid_and_grad": "not_finite",
    "activations:grade_tanh_and_grad": "tanh_grad_square",
    "backprop:grade_backprop_by_hand": "missing_relu_mask",
    "backprop:grade_mean_abs_grad_per_layer": "stale_gradients",
    "feedforward:grade_mlp_forward": "output_activation",
    "feedforward:grade_sgd_update": "skips_biases",
    "mnist:grade_confusion_matrix": "no_accumulation",
    "perceptron:grade_perceptron_epoch": "batch_update",
    "regularization:grade_batchnorm_backward": "constant_statistics",
    "regularization:grade_batchnorm_forward": "unbiased_variance",
    "regularization:grade_dropout_forward": "no_rescale",
    "torch_nn:grade_ActorCritic": "output_activation",
    "torch_nn:grade_action_log_probs": "not_finite",
}
