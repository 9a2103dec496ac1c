"""Generate Python code from gridledger's protos and CometBFT's ABCI protos.

CometBFT's ``.proto`` files are read from the pinned Go module in the module cache
(``go mod download -json``), never copied into the repository. Output goes to the
git-ignored ``.gen/python`` folder, which ``make setup`` puts on the virtualenv's path.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import grpc_tools
from grpc_tools import protoc

COMETBFT_MODULE = "github.com/cometbft/cometbft@v0.38.25"
GOGOPROTO_MODULE = "github.com/cosmos/gogoproto@v1.7.0"

# The CometBFT protos the app and clients need (with their imports).
COMETBFT_PROTOS = [
    "tendermint/abci/types.proto",
    "tendermint/crypto/proof.proto",
    "tendermint/crypto/keys.proto",
    "tendermint/types/params.proto",
    "tendermint/types/validator.proto",
    "tendermint/types/types.proto",
    "tendermint/version/types.proto",
]


def module_dir(module: str) -> Path:
    """Download `module` into the Go module cache (if needed) and return its folder."""
    out = subprocess.run(
        ["go", "mod", "download", "-json", module],
        check=True,
        capture_output=True,
        text=True,
        cwd="/",
    ).stdout
    return Path(json.loads(out)["Dir"])


def run_protoc(includes: list[Path], out: Path, files: list[str], grpc: bool) -> None:
    args = ["protoc", *(f"-I{p}" for p in includes), f"--python_out={out}", f"--pyi_out={out}"]
    if grpc:
        args.append(f"--grpc_python_out={out}")
    args.extend(files)
    if protoc.main(args) != 0:
        raise SystemExit(f"protoc failed for {files}")


def main() -> None:
    repo = Path(__file__).resolve().parent.parent
    out = repo / ".gen" / "python"
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)

    well_known = Path(grpc_tools.__file__).parent / "_proto"
    cometbft = module_dir(COMETBFT_MODULE) / "proto"
    gogo = module_dir(GOGOPROTO_MODULE)
    own = repo / "proto"

    run_protoc([cometbft, gogo, well_known], out, ["gogoproto/gogo.proto", *COMETBFT_PROTOS], False)
    own_files = sorted(str(p.relative_to(own)) for p in own.rglob("*.proto"))
    run_protoc([own, well_known], out, own_files, True)

    # Namespace packages are fine for Python, but mypy and tools like explicit ones.
    for folder in [out, *(p for p in out.rglob("*") if p.is_dir())]:
        if folder != out:
            (folder / "__init__.py").touch()
    print(f"generated {sum(1 for _ in out.rglob('*_pb2.py'))} modules into {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
