"""The scenario loader under a fuzzer: valid YAML and TOML trees shaped like scenarios, with
random types and values in every place. Whatever comes in, the loader answers with a valid
scenario or one ``file:line: field: message`` line (exit 2 at the command line) — never a
traceback, a hang or another exception."""

from __future__ import annotations

import re
from typing import Any

import tomli_w
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from battletui.scenario import Scenario, ScenarioError, loads_scenario
from battletui.scenario import _validate as v

KEYS = sorted(
    {
        *v.TOP_KEYS,
        *v.CHAIN_KEYS,
        *v.PROVIDER_KEYS,
        *v.GATEWAY_KEYS,
        *v.BREAKER_KEYS,
        *v.WORKLOAD_KEYS,
        *v.WS_KEYS,
        *v.HTTP_KEYS,
        *v.SLO_KEYS,
        "at",
        "kill",
        "restore",
        "degrade",
        "load",
        "mark",
        "reorg",
        "strategy",
        "errors",
        "eth_blockNumber",
    }
)
"""Every key a scenario knows, so generated trees reach deep into the validator."""

ONE_LINE = re.compile(r"^t\.(yaml|toml)(:\d+: [^\n]+: |: )[^\n]+$")

durations = st.sampled_from(
    ["250ms", "1s", "10s", "1m30s", "+100ms", "0", "1h1h", "99999h", "1us", "-5s", "24h"]
)
scalars = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    durations,
    st.sampled_from(["alpha", "beta", "max", "pause", "fastest", "newHeads", "dapp", "1e9"]),
)


def trees(leaves: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.recursive(
        leaves,
        lambda children: st.one_of(
            st.lists(children, max_size=4),
            st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), children, max_size=6),
        ),
        max_leaves=30,
    )


def scenario_like(leaves: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Mostly the shape of a scenario (name, duration, providers, ...), with any value."""
    base = st.fixed_dictionaries(
        {
            "name": st.one_of(st.just("fuzz"), leaves),
            "duration": st.one_of(durations, leaves),
            "providers": st.one_of(
                st.lists(
                    st.fixed_dictionaries({"id": st.sampled_from(["alpha", "beta", "x y"])}),
                    min_size=1,
                    max_size=3,
                ),
                trees(leaves),
            ),
        },
        optional={
            key: trees(leaves) for key in ("chain", "gateway", "workload", "slo", "timeline")
        },
    )
    return st.one_of(base, trees(leaves))


def judge(text: str, fmt: str) -> None:
    try:
        result = loads_scenario(text, path=f"t.{fmt}", fmt=fmt)  # type: ignore[arg-type]
    except ScenarioError as error:
        assert ONE_LINE.match(str(error)), str(error)
    else:
        assert isinstance(result, Scenario)


FUZZ = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)


@FUZZ
@given(scenario_like(scalars | st.none()))
def test_any_yaml_tree_loads_or_is_one_line(tree: Any) -> None:
    judge(yaml.safe_dump(tree, allow_unicode=True), "yaml")


@FUZZ
@given(scenario_like(scalars))
def test_any_toml_tree_loads_or_is_one_line(tree: Any) -> None:
    if not isinstance(tree, dict):
        tree = {"value": tree}  # a TOML document is a table
    try:
        text = tomli_w.dumps(tree)
    except (TypeError, ValueError, OverflowError):
        return  # not representable in TOML (e.g. an integer beyond 64 bits): nothing to load
    judge(text, "toml")


@FUZZ
@given(st.text(max_size=200))
def test_any_text_at_all_loads_or_is_one_line(text: str) -> None:
    judge(text, "yaml")
    judge(text, "toml")
