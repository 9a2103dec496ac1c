"""Granular renewable energy certificates: automatic hourly issuance, bundles, transfer,
retirement, oversight, expiry, delivery versus payment, storage and hourly matching."""
