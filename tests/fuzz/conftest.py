"""The fuzz suites' shared chain: one in-process app per module, past its first block."""

from __future__ import annotations

import pytest

from tests.fuzz.strategies import CONSORTIUM
from tests.support.driver import AppDriver


@pytest.fixture(scope="module")
def driver() -> AppDriver:
    d = AppDriver(CONSORTIUM)
    d.block([])
    return d
