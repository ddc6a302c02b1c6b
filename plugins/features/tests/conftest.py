"""Fixtures of the feature tests (helpers live in ``synthetic_fields``)."""

from __future__ import annotations

import pytest
from synthetic_fields import make_domain


@pytest.fixture
def domain3():
    return make_domain()


@pytest.fixture
def domain1():
    return make_domain(channels=("u",))
