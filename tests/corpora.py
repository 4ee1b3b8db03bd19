"""Where the hostile-input corpora are: ../shared/corpora beside the checkout (CI lays it there),
$AGGREGATOR_SHARED, or /work/shared on a developer's machine. Missing corpora are an error, never
a silently empty parametrisation."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _find() -> Path:
    candidates = [os.environ.get("AGGREGATOR_SHARED", ""), str(ROOT.parent / "shared"), "/work/shared"]
    for c in candidates:
        if c and (Path(c) / "corpora").is_dir():
            return Path(c) / "corpora"
    raise RuntimeError(f"hostile-input corpora not found (looked in {', '.join(c for c in candidates if c)}); "
                       "set AGGREGATOR_SHARED to the shared/ folder")


CORPORA = _find()
XML_ATTACKS = CORPORA / "xml-attacks"
BLNS = CORPORA / "naughty-strings" / "blns.json"
XSS = CORPORA / "xss-bleach"
