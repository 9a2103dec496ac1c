"""Grid operation: tariffs, imbalance prices, grid fees, feeder limits, demand response."""
