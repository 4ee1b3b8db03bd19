"""Renders the configuration reference tables of docs/configuration.md from the settings models.

`python -m aggregator.configdoc` rewrites the generated part of the page; a test
fails when the page is out of date, so no setting goes undocumented.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from aggregator.config import (
    EventSettings,
    ModerationSettings,
    NamedWall,
    PrivateFetchSettings,
    ProgrammeSession,
    ServerSettings,
    Settings,
    Slide,
    SourceSettings,
    WallSettings,
)

BEGIN = "<!-- BEGIN GENERATED REFERENCE (python -m aggregator.configdoc) -->"
END = "<!-- END GENERATED REFERENCE -->"

SECTIONS: list[tuple[str, type[BaseModel]]] = [
    ("Top level", Settings),
    ("`[server]`", ServerSettings),
    ("`[server.allow_private_fetch]`", PrivateFetchSettings),
    ("`[[events]]`", EventSettings),
    ("`[[events.programme]]`", ProgrammeSession),
    ("`[[events.sources]]`", SourceSettings),
    ("`[events.moderation]`", ModerationSettings),
    ("`[events.wall]`", WallSettings),
    ("`[[events.wall.slides]]` (also in `[[events.walls]]`)", Slide),
    ("`[[events.walls]]`: `name`, `title` and any key of `[events.wall]`, which it overrides", NamedWall),
]


def _default(field: Any) -> str:
    if field.default is PydanticUndefined:
        return "required" if field.default_factory is None else "(section)"
    value = field.default
    if isinstance(value, tuple | list):
        value = list(value)
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, str):
        return f'`"{value}"`'
    return f"`{value}`"


def render_reference() -> str:
    out: list[str] = [BEGIN, ""]
    for title, model in SECTIONS:
        out += [f"### {title}", "", "| key | default | meaning |", "| --- | --- | --- |"]
        inherited = set(WallSettings.model_fields) if model is NamedWall else set()  # listed under [events.wall]
        for name, field in model.model_fields.items():
            if name in inherited:
                continue
            desc = (field.description or "").replace("|", "\\|")
            out.append(f"| `{name}` | {_default(field)} | {desc} |")
        out.append("")
    out.append(END)
    return "\n".join(out)


def update(path: Path) -> bool:
    """Rewrite the generated part of `path`; True if it changed."""
    text = path.read_text(encoding="utf-8")
    start, end = text.index(BEGIN), text.index(END) + len(END)
    new = text[:start] + render_reference() + text[end:]
    if new != text:
        path.write_text(new, encoding="utf-8")
    return new != text


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/configuration.md")
    print(f"{target}: {'updated' if update(target) else 'already current'}")
