"""The Prometheus observer reads real ``/metrics`` text, served by prometheus-client itself.

Each test builds a ``CollectorRegistry`` with the metric names and labels the gateway in
question exposes (Lasso RPC, eRPC, dshackle: see ``battletui/observe/presets.py`` for
where in their source each comes from) and serves it over a real socket with
``prometheus_client.exposition.start_http_server``; the observer scrapes it like any gateway.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.exposition import start_http_server

from battletui.observe import (
    N_A,
    UNKNOWN,
    CannotSwitch,
    CustomPreset,
    ObserverCallbacks,
    ObserverError,
    PrometheusObserver,
    preset_named,
)
from battletui.observe import prometheus as prometheus_module
from battletui.protocol.events import BreakerState, BreakerTransition, GatewayEvent

IDS = ("alpha", "beta", "gamma")


class Served:
    """A registry on a real socket: ``url`` is its ``/metrics``."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        server, thread = start_http_server(0, addr="127.0.0.1", registry=self.registry)
        self._server, self._thread = server, thread
        self.url = f"http://127.0.0.1:{server.server_port}/metrics"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def served() -> Iterator[Served]:
    metrics = Served()
    try:
        yield metrics
    finally:
        metrics.close()


class Told:
    def __init__(self) -> None:
        self.transitions: list[BreakerTransition] = []
        self.notes: list[GatewayEvent] = []

    def callbacks(self) -> ObserverCallbacks:
        return ObserverCallbacks(
            on_transition=self.transitions.append, on_gateway_event=self.notes.append
        )

    def moves(self) -> list[tuple[str, str, str, str]]:
        return [(t.provider, str(t.old), str(t.new), t.reason) for t in self.transitions]


def observer(served: Served, preset: str, told: Told, **names: str) -> PrometheusObserver:
    return PrometheusObserver(
        served.url,
        preset_named(preset),
        IDS,
        upstream_names=names,
        callbacks=told.callbacks(),
    )


# -- Lasso RPC -------------------------------------------------------------------------------


def lasso_state(registry: CollectorRegistry) -> Gauge:
    return Gauge(
        "lasso_circuit_state",
        "Current local circuit state, one active state per transport",
        ["profile", "chain", "provider", "transport", "state"],
        registry=registry,
    )


def set_circuit(gauge: Gauge, provider: str, transport: str, current: str | None) -> None:
    """One-hot, as Lasso writes it: 1 on the current state, 0 on the others (all 0: unknown)."""
    for state in ("closed", "open", "half_open"):
        labels = {"profile": "default", "chain": "1", "provider": provider}
        gauge.labels(**labels, transport=transport, state=state).set(int(state == current))


async def test_lasso_circuits_and_lag_per_provider_with_transitions_between_scrapes(
    served: Served,
) -> None:
    state = lasso_state(served.registry)
    lag = Gauge(
        "lasso_provider_head_lag_blocks",
        "Fresh provider blocks behind local consensus",
        ["profile", "chain", "provider", "transport"],
        registry=served.registry,
    )
    set_circuit(state, "alpha-node", "http", "open")
    set_circuit(state, "alpha-node", "ws", "closed")
    set_circuit(state, "beta", "http", "closed")
    set_circuit(state, "beta", "ws", "open")  # the HTTP circuit is the one shown
    set_circuit(state, "gamma", "http", None)  # Lasso does not know it
    set_circuit(state, "zeta", "http", "open")  # a provider of the gateway, not of the lab
    lag.labels("default", "1", "beta", "http").set(3)
    lag.labels("default", "1", "beta", "ws").set(5)
    told = Told()
    watch = observer(served, "lasso", told, **{"alpha-node": "alpha"})
    try:
        assert await watch.scrape()
        view = watch.view
        assert view.reachable and view.observed and view.strategy is None
        assert [view.upstream(pid).breaker for pid in IDS] == ["OPEN", "CLOSED", UNKNOWN]
        assert [view.upstream(pid).lag for pid in IDS] == [None, 5, None]
        assert view.upstream("alpha").breaker_left is None, "Lasso's metrics do not say it"
        assert watch.unknown_upstreams == {"zeta"}
        assert told.transitions == [], "the first scrape is where observing starts"
        assert watch.names == ["prometheus lasso"]

        set_circuit(state, "alpha-node", "http", "half_open")
        set_circuit(state, "beta", "http", "open")
        assert await watch.scrape()
        set_circuit(state, "alpha-node", "http", "closed")
        set_circuit(state, "gamma", "http", "closed")  # from UNKNOWN: no change to tell
        assert await watch.scrape()
        reason = "seen in lasso_circuit_state at scrape"
        assert told.moves() == [
            ("alpha", "OPEN", "HALF-OPEN", reason),
            ("beta", "CLOSED", "OPEN", reason),
            ("alpha", "HALF-OPEN", "CLOSED", reason),
        ]
        assert all(isinstance(t.old, BreakerState) for t in told.transitions)
        assert told.transitions[0].at <= told.transitions[-1].at
        assert [watch.view.upstream(pid).breaker for pid in IDS] == ["CLOSED", "OPEN", "CLOSED"]
    finally:
        await watch.stop()


# -- eRPC ------------------------------------------------------------------------------------


def erpc_metrics(served: Served) -> tuple[Counter, Gauge, Gauge]:
    """eRPC's breaker transition totals, cordons and head lag, as it names them."""
    changes = Counter(
        "erpc_upstream_breaker_state_change_total",
        "Total circuit-breaker state transitions per upstream and direction",
        ["project", "upstream", "transition"],
        registry=served.registry,
    )
    cordoned = Gauge(
        "erpc_upstream_cordoned",
        "Whether upstream is un/cordoned (excluded from routing by selection policy).",
        ["project", "vendor", "network", "upstream", "category", "reason"],
        registry=served.registry,
    )
    lag = Gauge(
        "erpc_upstream_block_head_lag",
        "Total number of blocks (head) behind the most up-to-date upstream.",
        ["project", "vendor", "network", "upstream"],
        registry=served.registry,
    )
    return changes, cordoned, lag


async def test_erpc_breaker_state_from_transition_totals_cordons_and_lag(served: Served) -> None:
    changes, cordoned, lag = erpc_metrics(served)

    def moved(upstream: str, transition: str) -> None:
        changes.labels("main", upstream, transition).inc()

    # beta went round once before battletui looked: closed again.
    for transition in ("closed_to_open", "open_to_half_open", "half_open_to_closed"):
        moved("beta-up", transition)
    lag.labels("main", "n/a", "evm:1", "alpha-up").set(2)
    cordoned.labels("main", "n/a", "evm:1", "gamma-up", "eth_getLogs", "slow logs").set(1)
    told = Told()
    names = {"alpha-up": "alpha", "beta-up": "beta", "gamma-up": "gamma"}
    watch = observer(served, "erpc", told, **names)
    try:
        assert await watch.scrape()
        view = watch.view
        assert [view.upstream(pid).breaker for pid in IDS] == [N_A, "CLOSED", N_A], (
            "no transition yet: eRPC cannot tell an untripped breaker from none; a cordon for"
            " one method is not the upstream's"
        )
        assert [view.upstream(pid).lag for pid in IDS] == [2, None, None]

        moved("alpha-up", "closed_to_open")
        assert await watch.scrape()
        moved("alpha-up", "open_to_half_open")
        assert await watch.scrape()
        moved("alpha-up", "half_open_to_open")  # a failed probe: open again
        cordoned.labels("main", "n/a", "evm:1", "beta-up", "*", "misbehaving in consensus").set(1)
        assert await watch.scrape()
        changed = "seen in erpc_upstream_breaker_state_change_total at scrape"
        assert told.moves() == [
            ("alpha", "CLOSED", "OPEN", changed),
            ("alpha", "OPEN", "HALF-OPEN", changed),
            ("alpha", "HALF-OPEN", "OPEN", changed),
            (
                "beta",
                "CLOSED",
                "OPEN",
                "seen in erpc_upstream_cordoned at scrape (cordoned: misbehaving in consensus)",
            ),
        ]
        cordoned.labels("main", "n/a", "evm:1", "beta-up", "*", "misbehaving in consensus").set(0)
        moved("alpha-up", "open_to_half_open")
        moved("alpha-up", "half_open_to_closed")
        assert await watch.scrape()
        assert told.moves()[-2:] == [
            ("alpha", "OPEN", "CLOSED", changed),
            ("beta", "OPEN", "CLOSED", changed),
        ], "two transitions between scrapes: the state they lead to"
        assert watch.unknown_upstreams == set()
    finally:
        await watch.stop()


# -- dshackle --------------------------------------------------------------------------------


async def test_dshackle_gives_lag_per_upstream_and_availability_counts_but_no_breakers(
    served: Served,
) -> None:
    availability = Gauge(
        "dshackle_upstreams_availability",
        "Number of upstreams in each availability status",
        ["chain", "status"],
        registry=served.registry,
    )
    lag = Gauge(
        "dshackle_upstreams_lag",
        "How many blocks the upstream is behind the chain head",
        ["chain", "upstream"],
        registry=served.registry,
    )

    def counts(ok: int, unavailable: int) -> None:
        for status, n in (("ok", ok), ("lagging", 0), ("immature", 0), ("syncing", 0)):
            availability.labels("ETH", status).set(n)
        availability.labels("ETH", "unavailable").set(unavailable)

    counts(3, 0)
    lag.labels("ETH", "alpha").set(0)
    lag.labels("ETH", "beta").set(4)
    told = Told()
    watch = observer(served, "dshackle", told)
    try:
        assert await watch.scrape()
        view = watch.view
        assert not view.observed
        assert [view.upstream(pid).breaker for pid in IDS] == [N_A, N_A, N_A]
        assert [view.upstream(pid).lag for pid in IDS] == [0, 4, None]
        counts(2, 1)
        assert await watch.scrape()
        assert await watch.scrape()  # the same counts: nothing new to say
        where = "(seen in dshackle_upstreams_availability at scrape)"
        assert [(n.kind, n.provider, n.detail) for n in told.notes] == [
            ("upstreams", None, f"ETH: 3 of 3 upstreams ok {where}"),
            ("upstreams", None, f"ETH: 2 of 3 upstreams ok, 1 unavailable {where}"),
        ]
        assert told.transitions == []
    finally:
        await watch.stop()


# -- HAProxy ---------------------------------------------------------------------------------

HAPROXY_STATES = ("DOWN", "UP", "MAINT", "DRAIN", "NOLB")
HAPROXY_CHECKS = ("L4OK", "L4CON", "L7OK", "L7STS", "L7TOUT")


def set_server(status: Gauge, check: Gauge, server: str, state: str, last_check: str) -> None:
    """One-hot, as HAProxy 2.4+ writes both (``promex_srv_status``)."""
    for word in HAPROXY_STATES:
        status.labels("providers", server, word).set(int(word == state))
    for word in HAPROXY_CHECKS:
        check.labels("providers", server, word).set(int(word == last_check))


async def test_haproxy_server_status_reads_as_breakers_with_the_check_as_reason(
    served: Served,
) -> None:
    status = Gauge(
        "haproxy_server_status",
        "Current status of the service, per state label value.",
        ["proxy", "server", "state"],
        registry=served.registry,
    )
    check = Gauge(
        "haproxy_server_check_status",
        "Status of last health check, per state label value.",
        ["proxy", "server", "state"],
        registry=served.registry,
    )
    set_server(status, check, "alpha", "UP", "L7OK")
    set_server(status, check, "beta", "UP", "L7OK")
    set_server(status, check, "gamma_srv", "MAINT", "L7OK")
    told = Told()
    watch = observer(served, "haproxy", told, gamma_srv="gamma")
    try:
        assert await watch.scrape()
        assert [watch.view.upstream(pid).breaker for pid in IDS] == ["CLOSED", "CLOSED", "OPEN"]
        assert watch.view.upstream("beta").lag is None, "HAProxy knows no chain head"
        assert watch.names == ["prometheus haproxy"]
        first = [note.detail for note in told.notes]  # a state found, not a change
        assert len(first) == 1 and first[0].startswith(
            "gamma OPEN when the gateway's metrics were first read (haproxy_server_status: MAINT"
        ), first
        assert told.moves() == []

        set_server(status, check, "alpha", "DOWN", "L4CON")
        set_server(status, check, "gamma_srv", "UP", "L7OK")
        assert await watch.scrape()
        set_server(status, check, "alpha", "UP", "L7OK")
        assert await watch.scrape()
        said = "seen in haproxy_server_status at scrape"
        down = "DOWN, failing its health checks, last check L4CON"
        assert told.moves() == [
            ("alpha", "CLOSED", "OPEN", f"{said} ({down})"),
            ("gamma", "OPEN", "CLOSED", f"{said} (UP)"),
            ("alpha", "OPEN", "CLOSED", f"{said} (UP)"),
        ]
    finally:
        await watch.stop()


async def test_haproxy_before_2_4_one_coded_value_per_server(served: Served) -> None:
    status = Gauge(
        "haproxy_server_status",
        "Current status of the server (0=DOWN, 1=UP, 2=MAINT, 3=DRAIN, 4=NOLB).",
        ["proxy", "server"],
        registry=served.registry,
    )
    status.labels("providers", "alpha").set(1)
    status.labels("providers", "beta").set(0)
    status.labels("providers", "gamma").set(9)  # no code HAProxy wrote
    watch = observer(served, "haproxy", Told())
    try:
        assert await watch.scrape()
        assert [watch.view.upstream(pid).breaker for pid in IDS] == ["CLOSED", "OPEN", UNKNOWN]
    finally:
        await watch.stop()


# -- custom ----------------------------------------------------------------------------------


async def test_custom_mapping_numeric_codes_and_one_hot(served: Served) -> None:
    coded = Gauge("gw_breaker", "0 closed, 1 open, 2 half-open", ["node"], registry=served.registry)
    one_hot = Gauge("gw_circuit", "one-hot", ["node", "phase"], registry=served.registry)
    behind = Gauge("gw_behind_blocks", "lag", ["node"], registry=served.registry)
    coded.labels("alpha").set(1)
    coded.labels("beta").set(7)  # no code we know
    for phase in ("closed", "open", "half_open"):
        one_hot.labels("gamma", phase).set(int(phase == "half_open"))
    behind.labels("beta").set(9)
    told = Told()
    by_code = PrometheusObserver(
        served.url,
        CustomPreset.from_mapping(
            {"breaker_state": "gw_breaker", "lag": "gw_behind_blocks", "label": "node"}
        ),
        IDS,
        callbacks=told.callbacks(),
    )
    by_label = PrometheusObserver(
        served.url,
        CustomPreset.from_mapping(
            {"breaker_state": "gw_circuit", "label": "node", "state_label": "phase"}
        ),
        IDS,
    )
    try:
        assert await by_code.scrape() and await by_label.scrape()
        assert [by_code.view.upstream(pid).breaker for pid in IDS] == ["OPEN", UNKNOWN, UNKNOWN]
        assert by_code.view.upstream("beta").lag == 9
        assert by_label.view.upstream("gamma").breaker == "HALF-OPEN"
        assert by_code.names == ["prometheus custom"]
        coded.labels("alpha").set(0)
        assert await by_code.scrape()
        assert told.moves() == [("alpha", "OPEN", "CLOSED", "seen in gw_breaker at scrape")]
    finally:
        await by_code.stop()
        await by_label.stop()


async def test_custom_one_hot_with_the_gateways_own_state_words(served: Served) -> None:
    health = Gauge("gw_member", "one-hot", ["node", "status"], registry=served.registry)
    for node, current in (("alpha", "healthy"), ("beta", "EJECTED"), ("gamma", "probing")):
        for word in ("healthy", "ejected", "probing", "weird"):
            health.labels(node, word).set(int(word == current.lower()))
    watch = PrometheusObserver(
        served.url,
        CustomPreset.from_mapping(
            {
                "breaker_state": "gw_member",
                "label": "node",
                "state_label": "status",
                "closed_states": "Healthy",
                "open_states": "ejected, cordoned",
                "half_open_states": "probing",
            }
        ),
        IDS,
    )
    try:
        assert await watch.scrape()
        assert [watch.view.upstream(pid).breaker for pid in IDS] == ["CLOSED", "OPEN", "HALF-OPEN"]
        for word in ("healthy", "ejected", "probing", "weird"):
            health.labels("alpha", word).set(int(word == "weird"))
        assert await watch.scrape()
        assert watch.view.upstream("alpha").breaker == UNKNOWN, "a word in no list"
    finally:
        await watch.stop()


def test_custom_mapping_errors_are_one_line() -> None:
    with pytest.raises(ValueError, match=r"^prometheus custom: unknown key 'breaker'"):
        CustomPreset.from_mapping({"breaker": "x"})
    with pytest.raises(ValueError, match=r"^prometheus custom: name a breaker_state metric"):
        CustomPreset.from_mapping({"label": "node"})
    with pytest.raises(ValueError, match=r"^prometheus custom: open_states needs state_label"):
        CustomPreset.from_mapping({"breaker_state": "x", "open_states": "DOWN"})
    with pytest.raises(ValueError, match=r"^prometheus custom: state 'down' is in two of"):
        CustomPreset.from_mapping(
            {"breaker_state": "x", "state_label": "s", "open_states": "DOWN"}
            | {"closed_states": "down"}
        )
    with pytest.raises(ValueError, match=r"^prometheus custom: open_values: expected numbers"):
        CustomPreset.from_mapping({"breaker_state": "x", "open_values": "open"})
    with pytest.raises(ValueError, match=r"^unknown prometheus preset 'envoy' \(known: lasso"):
        preset_named("envoy")


# -- the observer's life ---------------------------------------------------------------------


async def test_it_scrapes_on_its_own_turns_stale_and_cannot_switch_a_strategy(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = lasso_state(served.registry)
    set_circuit(state, "alpha", "http", "open")
    watch = PrometheusObserver(served.url, preset_named("lasso"), IDS, interval=0.05)
    try:
        await watch.start()
        await watch.wait_ready(timeout=5.0)
        assert watch.view.upstream("alpha").breaker == "OPEN"
        with pytest.raises(CannotSwitch, match=r"^strategy: a gateway observed through its"):
            await watch.set_strategy("fastest")
        served.close()
        monkeypatch.setattr(prometheus_module, "STALE_AFTER", 0.2)
        deadline = 50
        while watch.view.reachable and deadline:
            await asyncio.sleep(0.05)
            deadline -= 1
        assert not watch.view.reachable
        assert watch.view.upstream("alpha").breaker == UNKNOWN, "stale: no longer said"
    finally:
        await watch.stop()


async def test_wait_ready_says_which_metrics_did_not_answer() -> None:
    watch = PrometheusObserver("http://127.0.0.1:9/metrics", preset_named("erpc"), IDS)
    try:
        await watch.start()
        with pytest.raises(ObserverError, match=r"^the gateway's metrics at http://127.0.0.1:9/"):
            await watch.wait_ready(timeout=0.5)
    finally:
        await watch.stop()
