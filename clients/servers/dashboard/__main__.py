"""python -m clients.servers.dashboard --nodes http://127.0.0.1:26657,http://127.0.0.1:26757 --port 26664"""

from __future__ import annotations

import argparse
import sys

import uvicorn

from clients.servers.dashboard.app import create_app
from clients.servers.dashboard.live import Feed
from clients.servers.dashboard.nodes import NodePool


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m clients.servers.dashboard", description=__doc__)
    parser.add_argument("--nodes", required=True, help="comma-separated CometBFT RPC urls, read in this order")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=26664)
    parser.add_argument("--label", default="", help="free text shown in the process list (e.g. the localnet home)")
    args = parser.parse_args(argv)
    urls = [u.strip() for u in args.nodes.split(",") if u.strip()]
    try:
        pool = NodePool.from_urls(urls)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)  # noqa: T201
        return 2
    app = create_app(pool, Feed(urls))
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", timeout_graceful_shutdown=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
