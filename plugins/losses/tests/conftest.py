"""Fixtures of the loss tests (helpers live in ``losses_fixtures``, a uniquely named module)."""

from losses_fixtures import vq_run  # noqa: F401
