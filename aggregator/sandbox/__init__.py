"""Loopback fakes of every platform's API, speaking the real wire formats (tests and demo).

Start one with `Sandbox(scenario).start()` (background thread) or `serve(...)`
(foreground, for `aggregator sandbox`). See aggregator/sandbox/app.py for the
URL layout and scenario.py for the scenario format.
"""

from aggregator.sandbox.app import RequestRecord, Sandbox, serve
from aggregator.sandbox.faults import Fault
from aggregator.sandbox.scenario import (
    Auth,
    InstanceSpec,
    MediaSpec,
    Person,
    Scenario,
    ScenarioError,
    ScenarioPost,
    default_scenario,
    load_scenario,
    scenario_from_dict,
)

__all__ = [
    "Auth",
    "Fault",
    "InstanceSpec",
    "MediaSpec",
    "Person",
    "RequestRecord",
    "Sandbox",
    "Scenario",
    "ScenarioError",
    "ScenarioPost",
    "default_scenario",
    "load_scenario",
    "scenario_from_dict",
    "serve",
]
