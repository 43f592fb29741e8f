"""The registry of stub specs: every module of this package that defines SPEC is one stub.

A new stub is a new module here (see docs/AUTHORING.md); helper modules without SPEC
(`common.py`, `batchnorm_common.py`, ...) are skipped.
"""

from __future__ import annotations

import importlib
import pkgutil

from autograder.engine.spec import Spec


def _discover() -> dict[str, Spec]:
    specs: dict[str, Spec] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        spec = getattr(module, "SPEC", None)
        if spec is None:
            continue
        if spec.name in specs:
            raise RuntimeError(f"two spec modules define the stub {spec.name!r}")
        specs[spec.name] = spec
    return specs


SPECS: dict[str, Spec] = _discover()


def get_spec(name: str) -> Spec:
    """The spec of stub `name`; a clear error for unknown names."""
    try:
        return SPECS[name]
    except KeyError:
        raise KeyError(
            f"no tests for a stub called {name!r}; known stubs: {', '.join(sorted(SPECS))}"
        ) from None
