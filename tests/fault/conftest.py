"""Fixtures for the fault tests: a 4-validator localnet under pytest's tmp folder, always stopped."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from clients.ops.localnet import Localnet, free_base_port

REPO = Path(__file__).resolve().parents[2]
DISKFULL_SITE = Path(__file__).resolve().parent / "diskfull"

NetFactory = Callable[..., Localnet]


def log_tails(net: Localnet, lines: int = 25) -> str:
    out = []
    for path in sorted((net.home / "logs").glob("*.log")):
        text = path.read_text(errors="replace").splitlines()[-lines:]
        out.append(f"--- {path.name}\n" + "\n".join(text))
    return "\n".join(out)


@pytest.fixture
def make_net(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[NetFactory]:
    """Start 4-validator localnets on free ports; every one is stopped at teardown (logs
    printed if the test failed)."""
    nets: list[Localnet] = []

    def make(name: str = "net", *, timeout_commit: str = "300ms", params: dict[str, int] | None = None) -> Localnet:
        net = Localnet(tmp_path_factory.mktemp(name), base_port=free_base_port(), timeout_commit=timeout_commit)
        nets.append(net)
        net.init(params=params)
        net.start()
        net.wait_height(2, timeout=90)
        return net

    yield make
    failed = getattr(request.node, "rep_call", None)
    for net in nets:
        net.stop()
        if failed is not None and failed.failed:
            sys.stderr.write(log_tails(net))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    report = yield
    if report.when == "call":
        item.rep_call = report  # type: ignore[attr-defined]
    return report
