"""Servers beside the nodes: the gRPC bridge/API and the web dashboard."""
