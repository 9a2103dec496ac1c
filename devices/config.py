"""The gateway's TOML configuration (stdlib tomllib) as frozen dataclasses.

[gateway]
chain_id = "gridledger-localnet"
state_dir = "/var/lib/gridledger-gateway"   # outbox.sqlite and keys/<device>.pem live here
interval_seconds = 900                      # one reading per device per interval (simulated s)
batch_size = 200
sink = "memory"                             # or "grpc": the bridge's GatewayApi
bridge = "127.0.0.1:26659"                  # the bridge (sink = "grpc")
gateway_key = "gateway.key.pem"             # the gateway member's Ed25519 key (PKCS#8 PEM) that signs the txs
bridge_ca = "bridge-ca.pem"                 # optional: TLS to the bridge, its certificate checked against
                                            #   this CA (or the bridge's self-signed certificate), PEM
gateway_cert = "gateway.cert.pem"           # optional (needs bridge_ca): gateway_key's member certificate,
                                            #   sent with a signature on every call to a bridge started
                                            #   with --member-auth (clients/member_auth.py)
ocpp_listen = "127.0.0.1:0"                 # central system for EV chargers
vtn_url = "http://127.0.0.1:8080/OpenADR2/Simple/2.0b"   # optional
ven_name = "home-a"
signals = "both"                            # where prices, alerts and DR events come from: "openadr"
                                            #   (the VEN, when vtn_url is set; the default), "bridge"
                                            #   (the bridge's Signals stream, through the same TLS and
                                            #   member credentials as the sink) or "both" (a DR event
                                            #   or price arriving from both is applied once)
owner = "<40 hex digits>"                   # the home owner's address: its alerts (default: owner_key's)
feeder = "feeder-north"                     # the home's feeder: its DR events
site = "home-a"                             # the home's site: the grid's instructions for it are
                                            #   applied to its inverters, battery and EV chargers
                                            #   (default: those of any site the owner owns)
claim_certificates = false                  # true: each finished EV session claims the owner's
owner_key = "owner.key.pem"                 #   certificates of its hours (clients/session_claim.py),
node_rpc = "http://127.0.0.1:26657"         #   signed with the owner's key, through CometBFT RPC
                                            #   (kept in outbox.sqlite and retried until the
                                            #   answer is final: devices/session_claims.py)
forecast_intervals = 0                      # N > 0: at start and after every interval's readings, post
                                            #   the forecasts of the devices with `forecast` for the next
                                            #   N intervals still open (one PostForecast tx through the
                                            #   sink, signed like the readings: devices/forecaster.py)
forecast_lock_seconds = 300                 # the ledger's forecasts.lock_seconds (the first interval
                                            #   posted starts more than this after now)

[simulation]                                # optional: run this home's simulated devices too
seed = 7
speed = 60.0
start = 1781913600
real_time_ledger = false                    # true: readings in real time, energy ÷ speed (demos)

[[device]]
id = "home-a.pv"
adapter = "sunspec"                         # sunspec | ocpp | sim
role = "inverter"                           # sunspec: inverter | meter | battery
host = "127.0.0.1"
port = 15020
unit = 1
forecast = "pv"                             # optional: "pv" (pvlib clear sky) or "load" (the household
nameplate_w = 5000                          #   profile); with the device's nameplate as registered
"""

from __future__ import annotations

import tomllib
from dataclasses import MISSING, dataclass
from dataclasses import fields as dataclass_fields
from pathlib import Path
from typing import Any

from devices.records import check_device_id

__all__ = [
    "FORECAST_KINDS",
    "MAX_FORECAST_INTERVALS",
    "ConfigError",
    "DeviceConfig",
    "GatewayConfig",
    "SimulationConfig",
    "load_config",
    "parse_config",
]


FORECAST_KINDS = ("", "pv", "load")
MAX_FORECAST_INTERVALS = 672  # the ledger's largest forecasts.max_intervals_per_post


@dataclass(frozen=True, slots=True)
class DeviceConfig:
    """One device the gateway reads."""

    id: str
    adapter: str
    role: str = ""
    host: str = "127.0.0.1"
    port: int = 0
    unit: int = 1
    charge_point_id: str = ""
    kind: str = ""  # for adapter = "sim": load | dryer | thermostat | wind
    # the owner's settings of a simulated device (prices in minor units per kWh; 0 = default)
    charge_at_or_below: int = 0  # battery
    discharge_at_or_above: int = 0  # battery
    reserve_pct: int = 20  # battery
    initial_soc_pct: int = 0  # battery: its state of charge when the simulation starts (0: the default 30 %)
    max_price: int = 0  # dryer: runs only at or below this price (unless its deadline forces it)
    cheap_at_or_below: int = 0  # thermostat: heats early at or below this price
    # a simulated EV charger's daily session (UTC hours of the simulated day; need_wh 0: the
    # seeded evening arrival) and, as max_price, the price at or below which it charges at once
    arrive_hour: float = 0.0
    depart_hour: float = 0.0
    need_wh: int = 0
    forecast: str = ""  # "" (none), "pv" or "load": what the gateway forecasts for the device
    nameplate_w: int = 0  # the device's nameplate as registered on the ledger (forecasts stay within it)

    def __post_init__(self) -> None:
        check_device_id(self.id)
        if self.forecast not in FORECAST_KINDS:
            raise ValueError(f"device {self.id}: unknown forecast {self.forecast!r} (pv or load)")
        if not 0 <= self.initial_soc_pct <= 100:
            raise ValueError(f"device {self.id}: initial_soc_pct must be in 0..100")
        if self.need_wh < 0 or (self.need_wh and not 0 <= self.arrive_hour < self.depart_hour <= 24):
            raise ValueError(f"device {self.id}: an EV session needs 0 <= arrive_hour < depart_hour <= 24")
        if self.nameplate_w < 0 or (self.forecast and self.nameplate_w == 0):
            raise ValueError(f"device {self.id}: a forecast needs nameplate_w > 0 (the registered nameplate in W)")
        if self.adapter not in ("sunspec", "ocpp", "sim"):
            raise ValueError(f"device {self.id}: unknown adapter {self.adapter!r}")
        if self.adapter == "ocpp" and not self.charge_point_id:
            raise ValueError(f"device {self.id}: ocpp devices need charge_point_id")


@dataclass(frozen=True, slots=True)
class SimulationConfig:
    """Run the home's simulated devices in the gateway process."""

    seed: int = 1
    speed: float = 60.0
    start: int = 1781913600
    # A demonstration on a live ledger: the devices' day runs `speed` times faster (the sun
    # is up at noon of the simulated day), while readings are stamped in real time and carry
    # real-time energy (simulated energy ÷ speed), so every reading is physically plausible
    # for its real interval (the nameplate check) and the ledger's clock is never overtaken.
    real_time_ledger: bool = False


@dataclass(frozen=True, slots=True)
class GatewayConfig:
    """Everything `python -m devices.gateway` needs."""

    chain_id: str
    state_dir: Path
    devices: tuple[DeviceConfig, ...]
    interval_seconds: int = 900
    batch_size: int = 200
    sink: str = "memory"
    bridge: str = "127.0.0.1:26659"
    gateway_key: Path | None = None
    bridge_ca: Path | None = None  # PEM CA the bridge's TLS certificate must chain to (None: plaintext)
    gateway_cert: Path | None = None  # gateway_key's member certificate: member authentication to the bridge
    ocpp_listen: str = "127.0.0.1:0"
    vtn_url: str = ""
    ven_name: str = ""
    simulation: SimulationConfig | None = None
    claim_certificates: bool = False
    owner_key: Path | None = None  # the charger owner's member key (PKCS#8 PEM): signs the claims
    node_rpc: str = ""  # CometBFT RPC of a node (the claims' queries and txs)
    signals: str = "openadr"  # openadr | bridge | both: the controller's signal sources
    owner: str = ""  # the home owner's address in hex (bridge signals: its alerts); default: owner_key's
    feeder: str = ""  # the home's feeder (bridge signals: its demand-response events)
    site: str = ""  # the home's site (bridge signals: the grid's instructions for it)
    forecast_intervals: int = 0  # intervals ahead posted after each interval's readings (0: no forecasts)
    forecast_lock_seconds: int = 300  # the ledger's forecasts.lock_seconds

    def __post_init__(self) -> None:
        if self.interval_seconds <= 0 or self.batch_size <= 0:
            raise ValueError("interval_seconds and batch_size must be positive")
        ids = [d.id for d in self.devices]
        if len(set(ids)) != len(ids):
            raise ValueError("device ids must be unique")
        if self.sink not in ("memory", "grpc"):
            raise ValueError(f"unknown sink {self.sink!r}")
        if self.sink == "grpc" and self.gateway_key is None:
            raise ValueError('sink = "grpc" needs gateway_key (the gateway member\'s key file)')
        if self.gateway_cert is not None and (self.bridge_ca is None or self.gateway_key is None):
            raise ValueError("gateway_cert (member authentication) needs bridge_ca (TLS) and gateway_key")
        if self.claim_certificates and (self.owner_key is None or not self.node_rpc):
            raise ValueError("claim_certificates = true needs owner_key and node_rpc")
        if self.signals not in ("openadr", "bridge", "both"):
            raise ValueError(f"unknown signals source {self.signals!r} (openadr, bridge or both)")
        if self.signals == "both" and not self.vtn_url:
            raise ValueError('signals = "both" needs vtn_url')
        if self.signals != "openadr" and not (self.owner or self.owner_key or self.feeder):
            raise ValueError("signals from the bridge need the home's owner (or owner_key) or feeder")
        if not 0 <= self.forecast_intervals <= MAX_FORECAST_INTERVALS:
            raise ValueError(
                f"forecast_intervals must be in 0..{MAX_FORECAST_INTERVALS}, got {self.forecast_intervals}"
            )
        if self.forecast_lock_seconds < 0:
            raise ValueError("forecast_lock_seconds must not be negative")
        if self.forecast_intervals and not any(d.forecast for d in self.devices):
            raise ValueError('forecast_intervals > 0 needs a device with forecast = "pv" or "load"')
        if self.owner and (len(self.owner) != 40 or any(c not in "0123456789abcdefABCDEF" for c in self.owner)):
            raise ValueError("owner must be a 20-byte address in hex (40 digits)")


class ConfigError(ValueError):
    """A gateway configuration that cannot run, in one line: where (file, section, key), what
    was wrong and what is allowed."""


_PORT_KEYS = frozenset({"port"})
_HOST_PORT_KEYS = frozenset({"bridge", "ocpp_listen"})
_FILE_KEYS = ("gateway_key", "owner_key", "bridge_ca", "gateway_cert")  # relative to the config


def _check_value(where: str, key: str, value: Any, kind: Any) -> Any:
    """`value` of `key` converted to the field's type, or ConfigError saying what is allowed."""
    kinds = {"int": int, "str": str, "bool": bool, "float": float}
    name = kind if isinstance(kind, str) else getattr(kind, "__name__", str(kind))
    name = name.replace(" | None", "").strip()
    if name.startswith("Path"):
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{where}: {key} must be a file name (a string), got {value!r}")
        return value
    if name.startswith("tuple"):
        return value
    expected = kinds.get(name)
    if expected is None:
        return value
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if expected is int and isinstance(value, bool):
        raise ConfigError(f"{where}: {key} must be a whole number, got {value!r}")
    if not isinstance(value, expected):
        article = {"int": "a whole number", "str": "a string", "bool": "true or false", "float": "a number"}[name]
        raise ConfigError(f"{where}: {key} must be {article}, got {value!r}")
    number: Any = value
    if key in _PORT_KEYS and not 1 <= number <= 65_535:
        raise ConfigError(f"{where}: {key} must be a TCP port 1..65535, got {value}")
    if key in _HOST_PORT_KEYS:
        host, sep, port = str(value).rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65_535:
            raise ConfigError(f"{where}: {key} must be HOST:PORT (port 0..65535), got {value!r}")
    return value


def _section(
    where: str, data: Any, cls: type[Any], skip: frozenset[str] = frozenset(), optional: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """The keys of one TOML table checked against `cls`'s fields (less `skip`): unknown keys,
    wrong types and missing required keys (but those in `optional`) are ConfigErrors."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where} must be a table, got {type(data).__name__}")
    fields = {f.name: f for f in dataclass_fields(cls) if f.name not in skip}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r}; known: {', '.join(sorted(fields))}")
    out = {k: _check_value(where, k, v, fields[k].type) for k, v in data.items()}
    missing = [
        name
        for name, f in fields.items()
        if name not in out and name not in optional and f.default is MISSING and f.default_factory is MISSING
    ]
    if missing:
        raise ConfigError(f"{where}: missing key {missing[0]!r}")
    return out


def parse_config(data: dict[str, Any], base: Path, *, source: str = "config") -> GatewayConfig:
    """Build the config from parsed TOML; relative `state_dir` and key files are resolved
    against `base`. Every key is checked (known, of the right type, ports in range, files
    that exist); any problem is a ConfigError naming the file, the section and the key."""
    unknown = sorted(set(data) - {"gateway", "simulation", "device"})
    if unknown:
        raise ConfigError(f"{source}: unknown section [{unknown[0]}]; known: [gateway], [simulation], [[device]]")
    if "gateway" not in data:
        raise ConfigError(f"{source}: no [gateway] section")
    gw = _section(
        f"{source} [gateway]",
        data["gateway"],
        GatewayConfig,
        frozenset({"devices", "simulation"}),
        frozenset({"state_dir"}),
    )
    state_dir = base / str(gw.pop("state_dir", "gateway-state"))
    for name in _FILE_KEYS:
        if name in gw:
            gw[name] = base / str(gw[name])
            if not gw[name].is_file():
                raise ConfigError(f"{source} [gateway]: {name}: no such file {gw[name]}")
    raw_devices = data.get("device", [])
    if not isinstance(raw_devices, list):
        raise ConfigError(f"{source}: devices are [[device]] tables")
    sim = data.get("simulation")
    try:
        devices = tuple(
            DeviceConfig(**_section(f"{source} [[device]] #{i + 1}", d, DeviceConfig))
            for i, d in enumerate(raw_devices)
        )
        simulation = (
            None if sim is None else SimulationConfig(**_section(f"{source} [simulation]", sim, SimulationConfig))
        )
        return GatewayConfig(state_dir=state_dir, devices=devices, simulation=simulation, **gw)
    except ConfigError:
        raise
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{source}: {exc}") from None


def load_config(path: Path) -> GatewayConfig:
    """Read and validate a gateway TOML file (ConfigError, one line, on any problem)."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the configuration: {exc.strerror or exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return parse_config(data, path.parent, source=str(path))
