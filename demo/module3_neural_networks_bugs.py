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
}
