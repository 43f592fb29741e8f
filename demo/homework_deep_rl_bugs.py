# ruff: noqa: E501  (the cells are notebook code, kept as students wrote them)
"""Demo student `ben`: the bugs real students made in this homework (see COURSE.md).

Maps a stub's grade_id to the whole cell ben submits. `rlgrade build` writes
ben's notebooks from these; the tests expect each to lose points.
"""

BUGS: dict[str, str] = {
    # Writes into the observation it was given (the real submission did this).
    "prepro": '''def prepro(frame: np.ndarray) -> Tensor:
    """Crop, downsample and binarise a Pong frame."""
    img = frame[35:195:2, ::2, 0]
    img[img == 144] = 0
    img[img == 109] = 0
    img[img != 0] = 1
    return torch.from_numpy(img.astype(np.float32).reshape(-1))
''',
    # Reads the episode inputs from the notebook's global `epx`, not its argument.
    "policy_backward": '''def policy_backward(model: dict[str, Tensor], epx: Tensor, eph: Tensor, epdlogp: Tensor) -> dict[str, Tensor]:
    """Backward pass over one episode."""
    global_epx = globals()["episode_inputs"]
    dW2 = eph.T @ epdlogp
    dh = torch.outer(epdlogp, model["W2"]) * (eph > 0)
    return {"W1": dh.T @ global_epx, "W2": dW2}


episode_inputs = torch.randn(5, 6400, dtype=torch.float64)
''',
    # torch.optim.RMSprop descends; the gradient here is meant for ascent.
    "rmsprop_step": '''def rmsprop_step(model: dict[str, Tensor], grad_buffer: dict[str, Tensor],
                 rmsprop_cache: dict[str, Tensor], learning_rate: float, decay_rate: float) -> None:
    """One RMSProp update with torch's optimiser."""
    params = list(model.values())
    for name, p in model.items():
        p.grad = grad_buffer[name].clone()
    torch.optim.RMSprop(params, lr=learning_rate, alpha=decay_rate, eps=1e-5).step()
    for g in grad_buffer.values():
        g.zero_()
''',
    # Masks the image in place: the original, which is the training target, is lost.
    "apply_mask": '''def apply_mask(x: Tensor) -> Tensor:
    """Zero the left half of each image."""
    x[..., : x.shape[-1] // 2] = 0
    return x
''',
    # Counts one bias vector for nn.RNN; PyTorch keeps two (bias_ih and bias_hh).
    "parameter_counts": '''def parameter_counts(length: int, vocab_size: int, hidden_size: int, num_classes: int) -> tuple[int, int]:
    """(mlp_count, rnn_count) of the two classifiers."""
    head = hidden_size * num_classes + num_classes
    mlp = length * vocab_size * hidden_size + hidden_size + head
    rnn = vocab_size * hidden_size + hidden_size * hidden_size + hidden_size + head
    return mlp, rnn
''',
}

# The test cells these bugs must lose points on, and the words the feedback must use.
LOSES: dict[str, str] = {
    "masked_autoencoder:grade_apply_mask": "apply_mask must return a copy",
    "pong:grade_prepro": "changed its argument frame",
    "pong:grade_policy_backward": "global_epx",
    "pong:grade_rmsprop_step": "points the opposite way",
    "short_answers:grade_parameter_counts": "one bias vector is missing",
}
