"""Fixtures shared by every test: a demo consortium and an in-process app driver."""

from __future__ import annotations

import pytest

from clients.ops.consortium import Consortium, demo_consortium
from tests.support.driver import AppDriver


@pytest.fixture(scope="session")
def consortium() -> Consortium:
    return demo_consortium()


@pytest.fixture
def driver(consortium: Consortium) -> AppDriver:
    return AppDriver(consortium)
