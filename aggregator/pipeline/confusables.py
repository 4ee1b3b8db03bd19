"""Confusable characters folded together for matching (after Unicode TR39 skeletons).

``cаsino`` with a Cyrillic ``а`` looks like ``casino``; a word list must see it
as ``casino``. :func:`fold_confusables` maps every character that Unicode's
confusables data (shipped by the ``confusable-homoglyphs`` package) lists as
look-alike to one representative of its class, so text and list entries folded
the same way compare equal when they look alike.

How this differs from a TR39 skeleton, and why:

- **ASCII is never changed.** A skeleton maps ``m`` to ``rn``, ``1`` to ``l``
  and ``0`` to ``O``; on running text that would make "modern" and "rnodern"
  one word and turn numbers into letters. Leetspeak (``sh1t``) is folded
  separately, only inside words that mix letters and digits
  (:func:`aggregator.pipeline.textnorm.leet_fold`).
- **One character to one character**, and a word character only to a word
  character, so folding never splits or joins words.
- **The representative is an ASCII letter where the class has one**, of the
  same case as the character, the character's own listed look-alike first
  (Cyrillic ``і`` -> ``i``, ``І`` -> ``I``), else an ASCII digit (Cyrillic ``б`` ->
  ``6``), else the class's lowest code point.
- **Case-insensitive where it can be**: the caller folds, case-folds and folds
  again; a lower-case letter with no ASCII look-alike of its own folds like its
  capital (Cyrillic ``т`` -> ``t`` because ``Т`` looks like ``T``; ``в`` -> ``b``),
  so "ТЕСТ" and "тест" stay one word. Where the two cases of a letter look like
  different ASCII letters (Greek ``Η``/``η``: ``H``/``n``) each folds to its own
  look-alike and they no longer match each other.
- **"I" or "l"**: Unicode gives every vertical stroke ("I", "l", "1", "|", "ǀ",
  Cyrillic "І") the prototype "l", though a capital "І" in "CАSІNO" means an
  "I". Such characters fold to :data:`I_OR_L`, and
  :class:`aggregator.pipeline.textnorm.PhraseMatcher` tries it as both.
- Accents are not this module's business: combining marks are stripped by
  :func:`aggregator.pipeline.textnorm.normalise_for_matching` before folding.

The table is built once per process from the package's data (about 9,600
characters, a few tens of milliseconds) and applied with ``str.translate``.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

__all__ = ["I_OR_L", "confusable_table", "fold_confusables"]

I_OR_L = "\ua7f7"
"""What an "I or l" look-alike folds to (a letter no text uses); matchers try it both ways."""


def _is_word(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _representative(ch: str, direct: list[str], near: list[str], members: list[str]) -> str:
    # The character's own listed look-alike first, then its look-alike's (the data links
    # each character with its prototype); not the whole class, which a shared look-alike
    # can join to an unrelated letter ("Г" -> "Γ" -> ... "Y"). An ASCII letter of the
    # character's own case before one of the other case, a letter before a digit.
    for pool in (direct, near):
        same = [m for m in pool if m.isascii() and m.isalpha() and m.isupper() == ch.isupper()]
        if same:
            return min(same)
    for pool in (direct, near):
        letters = [m for m in pool if m.isascii() and m.isalpha()]
        if letters:
            return min(letters)
    for pool in (direct, near):
        digits = [m for m in pool if m.isascii() and m.isdigit()]
        if digits:
            return min(digits)
    return min(members)


@lru_cache(maxsize=1)
def confusable_table() -> dict[int, str]:
    """``str.translate`` table: non-ASCII code point -> its class's representative."""
    raw = resources.files("confusable_homoglyphs").joinpath("confusables.json").read_text(encoding="utf-8")
    data: dict[str, list[dict[str, str]]] = json.loads(raw)
    parent: dict[str, str] = {}
    direct: dict[str, list[str]] = {}

    def find(ch: str) -> str:
        root = parent.setdefault(ch, ch)
        while root != parent[root]:
            root = parent[root]
        while ch != root:  # path compression
            parent[ch], ch = root, parent[ch]
        return root

    # The data links each character with its prototype (both ways); multi-character
    # prototypes ("rn" for "m") are left out: folding stays one character to one.
    for key, entries in data.items():
        if len(key) != 1:
            continue
        for entry in entries:
            other = entry.get("c", "")
            if len(other) == 1:
                direct.setdefault(key, []).append(other)
                a, b = find(key), find(other)
                if a != b:
                    parent[max(a, b)] = min(a, b)
    classes: dict[str, list[str]] = {}
    for ch in parent:
        classes.setdefault(find(ch), []).append(ch)
    table: dict[int, str] = {}
    for members in classes.values():
        if len(members) < 2:
            continue
        for ch in members:
            if ch.isascii():
                continue
            own = direct.get(ch, [])
            near = [n for d in own for n in direct.get(d, [])]
            target = _representative(ch, own, near, members)
            if "l" in own or "l" in near:
                # Unicode's prototype of every vertical bar is "l", yet Cyrillic "І" in
                # "CАSІNO" stands for an "I": which one was meant is the matcher's call.
                target = I_OR_L
            if target != ch and _is_word(target) == _is_word(ch):
                table[ord(ch)] = target
    table.pop(ord(I_OR_L), None)
    # Matching is case-insensitive: a lower-case letter whose capital folds to an ASCII
    # letter folds to that letter's lower case when it has no ASCII look-alike of its own
    # (Cyrillic "Т" looks like "T", so "т" is "t" too, and "ТЕСТ" matches "тест").
    for cp, target in list(table.items()):
        lower = chr(cp).lower()
        if len(lower) == 1 and lower != chr(cp) and target.isascii() and target.isalpha():
            mine = table.get(ord(lower), lower)
            if not (mine.isascii() and mine.isalpha()) and mine != I_OR_L:
                table[ord(lower)] = target.lower()
    return table


def fold_confusables(text: str) -> str:
    """``text`` with every confusable non-ASCII character replaced by its class's representative."""
    if text.isascii():
        return text
    return text.translate(confusable_table())
