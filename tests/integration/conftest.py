"""Fixtures for the integration tests: real CometBFT nodes and real app processes on 127.0.0.1.

Every net lives under pytest's tmp folder, on ports from `free_base_port()`, and is stopped in
the fixture's finalizer even when a test fails; on failure the tails of its logs are printed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from clients.ops.localnet import Localnet, free_base_port
from tests.integration.support import COMETBFT, Wallet, log_tails

FAST_COMMIT = "200ms"
SMALL_MAX_TX_BYTES = 2048  # the single-node chain's params.max_tx_bytes

# node ids of the tests (or setups) that failed so far; a net's finalizer dumps logs if one is its own
_FAILED: list[str] = []

NetFactory = Callable[..., Localnet]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.failed:
        _FAILED.append(item.nodeid)
    return report


def _factory(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[NetFactory]:
    nets: list[Localnet] = []

    def make(
        name: str,
        *,
        n: int = 4,
        spare_nodes: int = 0,
        params: dict[str, int] | None = None,
        timeout_commit: str = FAST_COMMIT,
        start: bool = True,
        wait_height: int = 2,
    ) -> Localnet:
        """Init (and start, and wait for `wait_height` on every node) an n-validator net."""
        home = tmp_path_factory.mktemp(name)
        net = Localnet(
            home,
            n=n,
            base_port=free_base_port(n + spare_nodes),
            cometbft=COMETBFT,
            timeout_commit=timeout_commit,
        )
        nets.append(net)
        net.init(params=params)
        if start:
            net.start()
            net.wait_height(wait_height, timeout=60)
        return net

    yield make

    failed = any(nodeid.startswith(request.node.nodeid) for nodeid in _FAILED)
    errors: list[BaseException] = []
    for net in nets:
        try:
            net.stop()
        except Exception as exc:  # stop the other nets too, then report
            errors.append(exc)
        if failed or errors:
            print(f"\n===== logs of the localnet in {net.home} =====\n{log_tails(net.home)}")
    if errors:
        raise errors[0]


@pytest.fixture
def localnet_factory(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[NetFactory]:
    """Make nets that live for one test."""
    yield from _factory(request, tmp_path_factory)


@pytest.fixture(scope="module")
def module_localnet_factory(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[NetFactory]:
    """Make nets shared by the tests of one module."""
    yield from _factory(request, tmp_path_factory)


@pytest.fixture(scope="module")
def chain1(module_localnet_factory: NetFactory) -> Localnet:
    """A 1-validator chain with a small params.max_tx_bytes, shared by a module."""
    return module_localnet_factory("chain1", n=1, params={"max_tx_bytes": SMALL_MAX_TX_BYTES})


@pytest.fixture(scope="module")
def net4(module_localnet_factory: NetFactory) -> Localnet:
    """The 4-validator localnet, shared by a module."""
    return module_localnet_factory("net4", n=4)


@pytest.fixture(scope="module")
def wallet1(chain1: Localnet) -> Wallet:
    return Wallet(chain1.chain_id)


@pytest.fixture(scope="module")
def wallet4(net4: Localnet) -> Wallet:
    return Wallet(net4.chain_id)
