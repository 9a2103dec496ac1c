"""SunSpec register maps, encoded and decoded with pysunspec2's model definitions.

A SunSpec device at base address 40000: "SunS", then models (ID, L, L registers of points),
then the end model (0xFFFF, 0). Energy points are read as integers: raw × 10^sf with integer
arithmetic, never through floats.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sunspec2.device import Model  # type: ignore[import-untyped]

__all__ = [
    "BASE_ADDRESS",
    "END_MODEL_ID",
    "SUNS_MARKER",
    "DecodedModel",
    "build_image",
    "decode_model",
    "encode_model",
    "scaled_int",
]

BASE_ADDRESS = 40000
SUNS_MARKER = (0x5375, 0x6E53)  # "SunS"
END_MODEL_ID = 0xFFFF


def encode_model(model_id: int, values: Mapping[str, Any]) -> list[int]:
    """The registers of model `model_id` (ID and L included) with the given raw point values set."""
    model = Model(model_id)
    for name, value in values.items():
        if name not in model.points:
            raise KeyError(f"model {model_id} has no point {name}")
        model.points[name].set_value(value)
    raw: bytes = model.get_mb()
    return [int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2)]


def build_image(models: Iterable[list[int]]) -> list[int]:
    """A whole SunSpec map: the SunS marker, the given encoded models, the end model."""
    image = list(SUNS_MARKER)
    for regs in models:
        image.extend(regs)
    image.extend((END_MODEL_ID, 0))
    return image


@dataclass(frozen=True, slots=True)
class DecodedModel:
    """One model read from a device: its id, address and raw point values (None = not implemented)."""

    model_id: int
    address: int
    points: Mapping[str, Any]

    def raw(self, name: str) -> Any:
        """A point's raw value; KeyError if the model lacks it, ValueError if it is not implemented."""
        value = self.points[name]
        if value is None:
            raise ValueError(f"model {self.model_id} point {name} is not implemented")
        return value


def decode_model(address: int, registers: list[int]) -> DecodedModel:
    """Decode one model's registers (starting with ID and L) with pysunspec2's definition of that model."""
    model_id, length = registers[0], registers[1]
    data = b"".join(r.to_bytes(2, "big") for r in registers[: length + 2])
    model = Model(model_id, model_addr=address, model_len=length)
    model.set_mb(data)
    if model.error_info:
        raise ValueError(f"model {model_id} at {address}: {model.error_info.strip()}")
    points = {name: point.value for name, point in model.points.items()}
    return DecodedModel(model_id, address, points)


def scaled_int(model: DecodedModel, name: str) -> int:
    """Point `name` × 10^(its scale factor) as an int (negative scale factors floor).

    An accumulator (acc16/32/64) reads 0 when SunSpec's "not accumulated" value (0) is sent.
    """
    pdef = Model(model.model_id).points[name].pdef
    if pdef["type"].startswith("acc") and model.points[name] is None:
        return 0
    value = int(model.raw(name))
    sf_name = pdef.get("sf")
    sf = 0 if sf_name is None else int(model.raw(sf_name))
    scaled: int = value * 10**sf if sf >= 0 else value // 10**-sf
    return scaled
