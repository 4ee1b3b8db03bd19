"""The sub-command modules share aggregator.cli_common; none imports aggregator.cli (no import cycle)."""

import ast
from pathlib import Path

import pytest

import aggregator

PACKAGE = Path(aggregator.__file__).parent


def _imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


@pytest.mark.parametrize("module", ["cli_users", "cli_export", "demo", "cli_common"])
def test_command_modules_do_not_import_the_cli(module: str) -> None:
    assert "aggregator.cli" not in _imported_modules(PACKAGE / f"{module}.py")
