"""The registry of stub specs: one module per stub, each exporting SPEC."""

from __future__ import annotations

from autograder.engine.spec import Spec
from autograder.engine.specs import (
    action_log_probs,
    actor_critic,
    apply_mask,
    backprop_by_hand,
    batchnorm_backward,
    batchnorm_forward,
    confusion_matrix,
    discount_rewards,
    dqn_loss,
    dropout_forward,
    epsilon_by_step,
    hard_update,
    leaky_relu_and_grad,
    make_sequence_dataset,
    mean_abs_grad_per_layer,
    mlp_forward,
    parameter_counts,
    perceptron_epoch,
    policy_backward,
    policy_forward,
    prepro,
    relu_and_grad,
    replay_buffer,
    rmsprop_step,
    sequence_classifier,
    sgd_update,
    sigmoid_and_grad,
    soft_update,
    tanh_and_grad,
    td_targets,
)

SPECS: dict[str, Spec] = {
    spec.name: spec
    for spec in (
        backprop_by_hand.SPEC,
        apply_mask.SPEC,
        prepro.SPEC,
        discount_rewards.SPEC,
        policy_forward.SPEC,
        policy_backward.SPEC,
        rmsprop_step.SPEC,
        sigmoid_and_grad.SPEC,
        tanh_and_grad.SPEC,
        relu_and_grad.SPEC,
        leaky_relu_and_grad.SPEC,
        perceptron_epoch.SPEC,
        mlp_forward.SPEC,
        sgd_update.SPEC,
        parameter_counts.SPEC,
        make_sequence_dataset.SPEC,
        sequence_classifier.SPEC,
        mean_abs_grad_per_layer.SPEC,
        dropout_forward.SPEC,
        batchnorm_forward.SPEC,
        batchnorm_backward.SPEC,
        action_log_probs.SPEC,
        actor_critic.SPEC,
        confusion_matrix.SPEC,
        replay_buffer.SPEC,
        td_targets.SPEC,
        dqn_loss.SPEC,
        hard_update.SPEC,
        soft_update.SPEC,
        epsilon_by_step.SPEC,
    )
}


def get_spec(name: str) -> Spec:
    """The spec of stub `name`; a clear error for unknown names."""
    try:
        return SPECS[name]
    except KeyError:
        raise KeyError(
            f"no tests for a stub called {name!r}; known stubs: {', '.join(sorted(SPECS))}"
        ) from None
