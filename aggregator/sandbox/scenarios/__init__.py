"""Built-in sandbox scenarios, selectable by name (`aggregator sandbox --scenario coproduction`).

    SCENARIOS["default"]()       the small feature-by-feature scenario (scenario.default_scenario)
    SCENARIOS["coproduction"]()  a whole conference day, ~600 posts (scenarios/coproduction.py)
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from aggregator.sandbox.scenario import Scenario, ScenarioError, default_scenario, load_scenario
from aggregator.sandbox.scenarios.coproduction import coproduction_day, expected_catch_reasons, expected_caught

DEMO_SCENARIO = "coproduction"  # the day `aggregator demo` replays; config/demo.toml is written for it
SCENARIOS: dict[str, Callable[[], Scenario]] = {
    "default": default_scenario,
    "coproduction": coproduction_day,
}


def scenario_by_name(name: str) -> Scenario:
    """The built-in scenario called `name`; KeyError (naming the choices) for an unknown one."""
    try:
        factory = SCENARIOS[name]
    except KeyError:
        raise KeyError(f"unknown scenario {name!r} (built-in: {', '.join(sorted(SCENARIOS))})") from None
    return factory()


def resolve_scenario(spec: str | Path | None) -> Scenario:
    """A scenario from a file path or a built-in name (None or "": the default scenario).

    An existing file wins over a built-in name; raises ScenarioError for neither.
    """
    if not spec:
        return default_scenario()
    path = Path(spec)
    if not path.exists() and isinstance(spec, str) and spec in SCENARIOS:
        return SCENARIOS[spec]()
    if not path.exists():
        raise ScenarioError(f"{spec}: no such scenario file, and not a built-in scenario "
                            f"(built-in: {', '.join(sorted(SCENARIOS))})")
    return load_scenario(path)


__all__ = [
    "DEMO_SCENARIO",
    "SCENARIOS",
    "coproduction_day",
    "expected_catch_reasons",
    "expected_caught",
    "resolve_scenario",
    "scenario_by_name",
]
