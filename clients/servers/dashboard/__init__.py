"""The web dashboard: a stateless, keyless ASGI app beside the nodes.

It reads only through CometBFT RPC (queries, status, validators, blocks) of the nodes it is
given, failing over to the next when its node stops answering, and pushes each committed
block and its signals (alerts, prices, demand response) to the page by server-sent events
from the node's websocket. Views: network, home (one member), market, certificates, grid,
audit. Run it with `python -m clients.servers.dashboard --nodes URL[,URL...] --port N`.
"""
