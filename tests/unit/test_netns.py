"""The namespace sandbox's pure parts: names, subnet and address allocation, and the commands it runs."""

from __future__ import annotations

import ipaddress

import pytest

from tests.support.netns import (
    POOL,
    Host,
    Impairment,
    clear_commands,
    heal_commands,
    hosts_of,
    impair_commands,
    pick_subnet,
    sandbox_names,
    setup_commands,
    split_commands,
    stale_namespaces,
    taken_octets,
)

SW = "glns7p42sw"
H = Host(2, "glns7p42h2", "10.213.7.3")


def test_names_carry_the_octet_and_pid_and_are_read_back() -> None:
    """Every namespace of a sandbox names its subnet's octet, so another run sees that octet taken."""
    switch, hosts = sandbox_names(7, 42, 3)
    assert switch == SW
    assert hosts == ["glns7p42h0", "glns7p42h1", "glns7p42h2"]
    assert taken_octets([switch, *hosts, "other", "glnsprobe1", "glns300p1h0"]) == {7}


def test_names_refuse_an_octet_out_of_range() -> None:
    """An octet above 255 cannot name a /24."""
    with pytest.raises(ValueError, match="out of range"):
        sandbox_names(256, 1, 1)


def test_subnet_starts_at_the_seed_and_skips_taken_octets() -> None:
    """The pick is seeded by the pid and moves past octets other sandboxes use."""
    assert pick_subnet(9, set()) == ipaddress.IPv4Network("10.213.10.0/24")
    assert pick_subnet(9, {10, 11}) == ipaddress.IPv4Network("10.213.12.0/24")


def test_subnet_never_overlaps_a_root_route_and_stays_in_the_pool() -> None:
    """A route of the root namespace inside the pool rules out the /24s it covers; .0 and .255 are never picked."""
    routes = [ipaddress.IPv4Network("10.213.12.0/22"), ipaddress.IPv4Network("0.0.0.0/0")]
    picked = pick_subnet(11, set(), routes)  # the default route overlaps everything but is not "in the pool"
    assert picked == ipaddress.IPv4Network("10.213.16.0/24")
    for seed in range(0, 600, 7):
        net = pick_subnet(seed, set())
        assert net.subnet_of(POOL)
        assert net.network_address.packed[2] not in (0, 255)


def test_subnet_exhaustion_is_an_error() -> None:
    """With every octet taken there is no subnet to hand out."""
    with pytest.raises(RuntimeError, match="no free"):
        pick_subnet(1, set(range(256)))


def test_hosts_get_consecutive_addresses() -> None:
    """Host k gets the subnet's (k+1)-th address; too many hosts for a /30 is refused."""
    hosts = hosts_of(ipaddress.IPv4Network("10.213.7.0/24"), ["a", "b"])
    assert [(h.index, h.netns, h.address, h.port) for h in hosts] == [
        (0, "a", "10.213.7.1", "p0"),
        (1, "b", "10.213.7.2", "p1"),
    ]
    with pytest.raises(ValueError, match="do not fit"):
        hosts_of(ipaddress.IPv4Network("10.213.7.0/30"), ["a", "b", "c"])


def test_setup_wires_each_host_to_the_bridge_in_the_switch_namespace() -> None:
    """Nothing is made in the root namespace: every link and address command names a sandbox namespace."""
    cmds = setup_commands(SW, [H], 24)
    assert ["ip", "-n", SW, "link", "add", "br0", "type", "bridge"] in cmds
    veth = ["ip", "link", "add", "eth0", "netns", H.netns, "type", "veth", "peer", "name", "p2", "netns", SW]
    assert veth in cmds
    assert ["ip", "-n", SW, "link", "set", "p2", "master", "br0"] in cmds
    assert ["ip", "-n", H.netns, "addr", "add", "10.213.7.3/24", "dev", "eth0"] in cmds
    for cmd in cmds:
        assert cmd[:3] == ["ip", "netns", "add"] or "netns" in cmd or "-n" in cmd, cmd


def test_netem_impairs_both_ends_of_the_link() -> None:
    """With netem, one qdisc with delay and loss on the host's interface and one on its switch port."""
    cmds = impair_commands(SW, H, Impairment(loss_pct=10, delay_ms=100), netem=True)
    assert cmds == [
        [
            "tc",
            "-n",
            H.netns,
            "qdisc",
            "replace",
            "dev",
            "eth0",
            "root",
            "netem",
            "delay",
            "100ms",
            "20ms",
            "loss",
            "10%",
        ],
        ["tc", "-n", SW, "qdisc", "replace", "dev", "p2", "root", "netem", "delay", "100ms", "20ms", "loss", "10%"],
    ]
    assert impair_commands(SW, H, Impairment(), netem=True) == []


def test_without_netem_loss_is_iptables_statistic_and_delay_a_slow_link() -> None:
    """Without netem, loss is a random iptables DROP each way inside the host, and delay a tbf queue on both ends."""
    cmds = impair_commands(SW, H, Impairment(loss_pct=10, delay_ms=100), netem=False)
    assert [c[:3] for c in cmds[:2]] == [["tc", "-n", H.netns], ["tc", "-n", SW]]
    assert all("tbf" in c for c in cmds[:2])
    drops = cmds[2:]
    assert [c[:4] for c in drops] == [["ip", "netns", "exec", H.netns]] * 2
    assert drops[0][6:10] == ["-A", "INPUT", "-i", "eth0"]
    assert drops[1][6:10] == ["-A", "OUTPUT", "-o", "eth0"]
    assert all(d[-4:] == ["--probability", "0.10", "-j", "DROP"] for d in drops)


def test_a_partition_drops_everything_on_the_hosts_interface() -> None:
    """100% loss is an unconditional DROP (no statistic match) both ways."""
    cmds = impair_commands(SW, H, Impairment(loss_pct=100), netem=False)
    assert len(cmds) == 2
    assert all("statistic" not in c and c[-2:] == ["-j", "DROP"] for c in cmds)


def test_clear_undoes_every_kind_of_impairment() -> None:
    """Clearing removes both qdiscs and flushes the host's iptables chains, all inside the sandbox."""
    cmds = clear_commands(SW, H)
    assert ["tc", "-n", H.netns, "qdisc", "del", "dev", "eth0", "root"] in cmds
    assert ["tc", "-n", SW, "qdisc", "del", "dev", "p2", "root"] in cmds
    assert sum("-F" in c for c in cmds) == 2


def _four() -> list[Host]:
    return hosts_of(ipaddress.IPv4Network("10.213.7.0/24"), [f"glns7p42h{k}" for k in range(4)])


def test_a_split_drops_what_the_switch_forwards_between_the_halves_both_ways() -> None:
    """A 2|2 split is a bridge-family nftables table in the switch namespace: a forward-hook chain
    and one drop rule per direction, from one half's ports to the other's."""
    h = _four()
    cmds = split_commands(SW, ([h[0], h[1]], [h[2], h[3]]))
    assert all(c[:5] == ["ip", "netns", "exec", SW, "nft"] for c in cmds)
    nft = [" ".join(c[5:]) for c in cmds]
    assert nft == [
        "add table bridge glsplit",
        "add chain bridge glsplit cross { type filter hook forward priority 0; policy accept; }",
        'add rule bridge glsplit cross iifname { "p0", "p1" } oifname { "p2", "p3" } drop',
        'add rule bridge glsplit cross iifname { "p2", "p3" } oifname { "p0", "p1" } drop',
    ]
    assert not any(h[0].netns in c or h[2].netns in c for c in cmds), "a split touches no host namespace"


def test_a_split_never_drops_within_a_half() -> None:
    """No rule names a port of one half on both its input and its output side."""
    h = _four()
    for a, b in (([h[0], h[1]], [h[2], h[3]]), ([h[3]], [h[0], h[1], h[2]])):
        for cmd in split_commands(SW, (a, b))[2:]:
            rule = " ".join(cmd)
            iif, oif = rule.split("iifname")[1].split("oifname")
            ins = {x.port for x in a + b if f'"{x.port}"' in iif}
            outs = {x.port for x in a + b if f'"{x.port}"' in oif}
            assert ins
            assert outs
            assert not ins & outs
            assert ins in ({x.port for x in a}, {x.port for x in b})


def test_a_split_needs_two_disjoint_nonempty_halves() -> None:
    """An empty half, or a host in both halves, is refused."""
    h = _four()
    with pytest.raises(ValueError, match="non-empty"):
        split_commands(SW, ([h[0]], []))
    with pytest.raises(ValueError, match="both halves"):
        split_commands(SW, ([h[0], h[1]], [h[1], h[2]]))


def test_heal_deletes_the_split_table_in_the_switch() -> None:
    """Healing removes the whole table the split made, in the switch namespace only."""
    assert heal_commands(SW) == [["ip", "netns", "exec", SW, "nft", "delete", "table", "bridge", "glsplit"]]


def test_impairment_bounds() -> None:
    """Loss outside 0..100 or a negative delay is refused."""
    with pytest.raises(ValueError, match="bad impairment"):
        Impairment(loss_pct=101)
    with pytest.raises(ValueError, match="bad impairment"):
        Impairment(delay_ms=-1)


def test_stale_sandboxes_are_those_whose_creator_is_gone() -> None:
    """Only sandbox namespaces whose pid is dead are reaped; foreign namespaces never are."""
    names = ["glns7p42sw", "glns7p42h0", "glns9p43h1", "glnsprobe44", "mine", "glns7p42hx"]
    assert stale_namespaces(names, lambda pid: pid == 43) == ["glns7p42sw", "glns7p42h0"]
