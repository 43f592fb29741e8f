"""The registry of stub specs: one module per stub, each exporting SPEC."""

from __future__ import annotations

from autograder.engine.spec import Spec
from autograder.engine.specs import (
    apply_mask,
    backprop_by_hand,
    discount_rewards,
    leaky_relu_and_grad,
    policy_backward,
    policy_forward,
    prepro,
    relu_and_grad,
    rmsprop_step,
    sigmoid_and_grad,
    tanh_and_grad,
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
