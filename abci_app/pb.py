"""Chain-level generated protobuf modules (produced by `make setup`): the envelope, core
records and CometBFT's ABCI types. Each domain imports its own `gridledger.<domain>.v1`."""

from gridledger.state.v1 import state_pb2
from gridledger.tx.v1 import tx_pb2
from tendermint.abci import types_pb2 as abci
from tendermint.crypto import keys_pb2 as crypto_keys
from tendermint.crypto import proof_pb2 as crypto_proof

__all__ = ["abci", "crypto_keys", "crypto_proof", "state_pb2", "tx_pb2"]
