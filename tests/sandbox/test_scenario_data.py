"""The built-in scenarios are data files, loaded into exactly the scenarios the Python builders made.

The digests were taken from the Python-built scenarios (scenario.default_scenario
and scenarios/coproduction.py's generator) before that Python data was deleted,
so the shipped files stay byte-for-byte the same day as before.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json

import pytest

from aggregator.sandbox.scenario import (
    Scenario,
    builtin_scenario,
    builtin_scenario_names,
    scenario_from_dict,
    scenario_to_dict,
)

SNAPSHOT = {
    "default": "845be07963bc9bef32026be2129a44e218d1b69ce3106c7e4fe58c7655101a3e",
    "coproduction": "b53b776e1f1a798372ea90338fe1f9fc132b85efcf5828e628a77a7655da17e7",
}


def _digest(sc: Scenario) -> str:
    text = json.dumps(dataclasses.asdict(sc), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def test_the_shipped_scenarios_are_the_data_files() -> None:
    assert builtin_scenario_names() == tuple(sorted(SNAPSHOT))


@pytest.mark.parametrize("name", sorted(SNAPSHOT))
def test_a_loaded_scenario_equals_the_snapshot_of_the_python_built_one(name: str) -> None:
    assert _digest(builtin_scenario(name)) == SNAPSHOT[name]


@pytest.mark.parametrize("name", sorted(SNAPSHOT))
def test_to_dict_round_trips(name: str) -> None:
    sc = builtin_scenario(name)
    assert scenario_from_dict(json.loads(json.dumps(scenario_to_dict(sc)))) == sc


def test_an_unknown_builtin_name_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        builtin_scenario("no-such-day")

