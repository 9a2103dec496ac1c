"""CertificatesApi.ExportRetirement: a retirement with its proof, signed header and trust steps,
checked by the bridge before it is sent (`clients.retirement_export`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import grpc
from gridledger.api.v1 import certificates_api_pb2, reads_pb2
from gridwire.contract.certificates import Paths as CertificatesPaths
from gridwire.contract.certificates import retirement_key

from clients.lightclient import LightClient, TrustStep, Validator, validator_set_hash
from clients.proof import ProofError, verify_query_response
from clients.retirement_export import build_export, verify_retirement_export
from clients.rpc import RPCError
from clients.servers.api_status import status_for

if TYPE_CHECKING:
    from clients.servers.node import NodeLink

__all__ = ["export_handler"]


def export_handler(bridge: NodeLink) -> Callable[..., Any]:
    """The handler of CertificatesApi.ExportRetirement on `bridge`."""

    async def handle(
        request: reads_pb2.ByNumber, context: grpc.aio.ServicerContext
    ) -> certificates_api_pb2.RetirementExport:
        if request.id == 0:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "id must be at least 1")
        key = retirement_key(request.id)
        path = CertificatesPaths.RETIREMENT(request.id)
        answer = await bridge.node_or_abort(context, lambda: bridge.rpc.abci_query(path, prove=True))
        code = int(answer.get("code", 0))
        if code != 0:
            log = str(answer.get("log", ""))
            await context.abort(status_for(code, log), log)
        if not answer.get("value"):
            await context.abort(grpc.StatusCode.NOT_FOUND, f"nothing at {path}")
        height = int(answer.get("height", 0))
        try:
            app_hash = await bridge.node(lambda: bridge.verifier.committing_app_hash(height))
            proven = verify_query_response(answer, app_hash, key)
            signed = await bridge.node(bridge.rpc.commit, height + 1)
            validators = await bridge.node(bridge.rpc.validators, height + 1)
            steps: list[TrustStep] = []
            trusted = validator_set_hash([Validator.from_json(v) for v in validators])
            light = bridge.verifier
            if isinstance(light, LightClient) and light.genesis_anchor is not None:
                trusted = light.genesis_anchor[0]
                steps = await bridge.node(light.trust_path, height + 1)
            export = build_export(answer, proven.value or b"", key, height, app_hash, signed, validators, steps)
            verify_retirement_export(export, trusted)
        except RPCError as exc:
            await context.abort(grpc.StatusCode.UNAVAILABLE, str(exc))
            raise
        except (ProofError, ValueError, KeyError, TypeError) as exc:
            await context.abort(grpc.StatusCode.DATA_LOSS, f"retirement {request.id} does not verify: {exc}")
            raise
        return export

    return handle
