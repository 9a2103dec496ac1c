"""One day of a public SimBench low-voltage grid, as integer energies and power flows.

SimBench (the package ships its grids and year-long 15-minute profiles) gives the households'
loads and the rooftop PV systems of an LV grid; pandapower computes the AC power flow of every
quarter-hour offline. This module turns one day of it into what the ledger sees:

- feeders: the groups of buses behind each line leaving the transformer's LV busbar, named
  ``<subnet>-F<n>`` in the order of those lines (ids as a real grid model spells them);
- sites: every bus with a load or a PV system, on its feeder;
- per quarter-hour, each load's import and each PV system's export in integer Wh, rounded on the
  cumulative register (round(cumulative) differences), so a day's parts sum exactly to the rounded
  day total, as a real meter's register does;
- per quarter-hour, each feeder's power flow towards the busbar in W from the power flow
  (positive: the feeder exports upstream), the figure a feeder export limit is checked against.

Nothing here is the ledger: it is the physics the ledger's results are checked against.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

__all__ = ["INTERVAL_SECONDS", "GridDay", "Load", "Pv", "load_grid_day"]

INTERVAL_SECONDS = 900
INTERVALS = 96
_YEAR_START = dt.datetime(2016, 1, 1, tzinfo=dt.UTC)  # SimBench's profiles are the year 2016


@dataclass(frozen=True)
class Load:
    name: str
    bus: int
    feeder: str
    import_wh: tuple[int, ...]  # per quarter-hour of the day


@dataclass(frozen=True)
class Pv:
    name: str
    bus: int
    feeder: str
    nameplate_w: int
    export_wh: tuple[int, ...]  # per quarter-hour of the day


@dataclass(frozen=True)
class GridDay:
    code: str
    day: dt.date
    day_start: int  # unix seconds of 00:00 UTC of the day
    feeders: tuple[str, ...]
    bus_feeder: dict[int, str]
    loads: tuple[Load, ...]
    pvs: tuple[Pv, ...]
    feeder_flow_w: dict[str, tuple[int, ...]]  # towards the busbar, per quarter-hour (+ = export)

    def sites(self) -> list[int]:
        """Buses with a load or a PV system, in bus order (one site each)."""
        return sorted({x.bus for x in self.loads} | {p.bus for p in self.pvs})

    def pv_wh(self) -> int:
        return sum(sum(p.export_wh) for p in self.pvs)

    def load_wh(self) -> int:
        return sum(sum(x.import_wh) for x in self.loads)


def _register_wh(power_mw: list[float]) -> tuple[int, ...]:
    """Per-interval Wh of a power series in MW, rounded on the cumulative register."""
    out: list[int] = []
    cumulative = 0.0
    last = 0
    for p in power_mw:
        cumulative += max(0.0, p) * 1e6 * INTERVAL_SECONDS / 3600
        now = round(cumulative)
        out.append(now - last)
        last = now
    return tuple(out)


def _feeders(net: Any) -> tuple[int, dict[int, str], dict[str, tuple[int, bool]]]:
    """(busbar, bus → feeder, feeder → (line index, busbar is the line's from-bus))."""
    import networkx as nx
    import pandapower.topology as top

    busbar = int(net.trafo.lv_bus.iloc[0])
    subnet = str(net.bus.loc[busbar, "name"]).split(" ")[0]
    graph = top.create_nxgraph(net, include_trafos=False)
    graph.remove_node(busbar)
    bus_feeder: dict[int, str] = {}
    feeder_line: dict[str, tuple[int, bool]] = {}
    lines = net.line[(net.line.from_bus == busbar) | (net.line.to_bus == busbar)].sort_index()
    for n, (idx, line) in enumerate(lines.iterrows(), start=1):
        name = f"{subnet}-F{n}"
        far = int(line.to_bus) if int(line.from_bus) == busbar else int(line.from_bus)
        for bus in nx.node_connected_component(graph, far):
            bus_feeder[int(bus)] = name
        feeder_line[name] = (int(idx), int(line.from_bus) == busbar)
    return busbar, bus_feeder, feeder_line


def load_grid_day(code: str, day: dt.date) -> GridDay:
    """The day `day` (of SimBench's year 2016) of the SimBench grid `code`, with one AC power
    flow per quarter-hour."""
    import pandapower as pp
    import simbench as sb

    net = sb.get_simbench_net(code)
    profiles = sb.get_absolute_values(net, profiles_instead_of_study_cases=True)
    first = (dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC) - _YEAR_START).days * INTERVALS
    steps = range(first, first + INTERVALS)
    load_p = profiles[("load", "p_mw")].iloc[first : first + INTERVALS]
    load_q = profiles[("load", "q_mvar")].iloc[first : first + INTERVALS]
    sgen_p = profiles[("sgen", "p_mw")].iloc[first : first + INTERVALS]
    _, bus_feeder, feeder_line = _feeders(net)
    nameplate_w = {int(i): round(float(net.sgen.loc[i, "p_mw"]) * 1e6) for i in net.sgen.index}
    flows: dict[str, list[int]] = {f: [] for f in feeder_line}
    for row, _step in enumerate(steps):
        net.load["p_mw"] = load_p.iloc[row].to_numpy()
        net.load["q_mvar"] = load_q.iloc[row].to_numpy()
        net.sgen["p_mw"] = sgen_p.iloc[row].to_numpy()
        pp.runpp(net, numba=False)
        for name, (idx, busbar_is_from) in feeder_line.items():
            # p_from_mw is the power flowing into the line at its from-bus; towards the busbar
            # means out of the line at the busbar's end.
            p = -net.res_line.p_from_mw[idx] if busbar_is_from else -net.res_line.p_to_mw[idx]
            flows[name].append(round(float(p) * 1e6))
    loads = tuple(
        Load(
            name=str(net.load.loc[i, "name"]),
            bus=int(net.load.loc[i, "bus"]),
            feeder=bus_feeder[int(net.load.loc[i, "bus"])],
            import_wh=_register_wh([float(x) for x in load_p[i]]),
        )
        for i in net.load.index
    )
    pvs = tuple(
        Pv(
            name=str(net.sgen.loc[i, "name"]),
            bus=int(net.sgen.loc[i, "bus"]),
            feeder=bus_feeder[int(net.sgen.loc[i, "bus"])],
            nameplate_w=nameplate_w[int(i)],
            export_wh=_register_wh([float(x) for x in sgen_p[i]]),
        )
        for i in net.sgen.index
    )
    day_start = int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp())
    return GridDay(
        code=code,
        day=day,
        day_start=day_start,
        feeders=tuple(feeder_line),
        bus_feeder=bus_feeder,
        loads=loads,
        pvs=pvs,
        feeder_flow_w={k: tuple(v) for k, v in flows.items()},
    )
