"""Text folding for matching: word lists (moderation) and near-duplicate text (dedup).

Everything here is pure and works on plain ``str``; nothing is ever shown to
people, so folding can be aggressive where it helps matching:

- :func:`normalise_for_matching` -- NFKC (fullwidth letters become ASCII), case
  folding, invisible characters removed (zero-width, bidi controls, soft hyphen,
  variation selectors...), combining marks on Latin/Greek/Cyrillic letters
  removed (accents and "Zalgo" alike), confusable characters folded to one
  representative (Cyrillic "а" -> "a", :mod:`aggregator.pipeline.confusables`),
  whitespace collapsed.
- :func:`contains_phrase` -- whole-word (Unicode-aware) phrase search in
  normalised text; ``"ass"`` does not match ``"class"``. A trailing ``*`` in a
  phrase matches any word ending (``"fuck*"`` matches ``"fucking"``), spaces in
  a phrase match any run of non-word characters (``"buy now"`` matches
  ``"buy-now"``), and ``leet=True`` also tries a leetspeak-folded text
  (``"sh1t"``, ``"a$$"``). Scripts written without spaces (Chinese, Japanese,
  Thai...) are matched without word boundaries on that side.
- :class:`PhraseMatcher` -- the same search for a whole word list in one regex.
- :func:`similarity` -- 0..1 similarity of two posts' texts for cross-post
  detection, ignoring links, @mentions and ``#`` marks, tolerant of a copy cut
  short with an ellipsis. Symmetric: ``similarity(a, b) == similarity(b, a)``.
  Bounded work: only the first :data:`MAX_SIMILARITY_TOKENS` words count, and
  with ``at_least`` a cheap upper bound (bit-parallel LCS) skips difflib for
  pairs that cannot reach it (docs/security.md, "Bounded work").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from difflib import SequenceMatcher
from functools import lru_cache

from rapidfuzz.distance import Indel

from aggregator.pipeline.confusables import I_OR_L, fold_confusables

__all__ = [
    "PhraseMatcher",
    "contains_phrase",
    "leet_fold",
    "normalise_for_matching",
    "phrase_matcher",
    "similarity",
    "text_tokens",
]

# Invisible characters that are not category Cf but still hide inside words:
# combining grapheme joiner, Hangul fillers, Khmer inherent vowels, variation selectors.
_INVISIBLE = re.compile("[\u034f\u115f\u1160\u17b4\u17b5\u3164\uffa0\ufe00-\ufe0f\U000e0100-\U000e01ef]")
# Combining marks on a Latin, Greek or Cyrillic letter or a digit (after NFD): accents and
# "Zalgo" decoration alike. Matching ignores them, so "cásino" and "c\u0301asino" are "casino"
# (docs/decisions.md: a list entry matches with or without accents). Marks of other scripts
# (Indic vowel signs, Hebrew points...) are part of their words and stay.
_MARKS = re.compile(
    "(?<=[0-9A-Za-z\u00c0-\u024f\u0370-\u03ff\u0400-\u052f\u1e00-\u1fff])"
    "[\u0300-\u036f\u0483-\u0489\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+"
)


def _drop_format(text: str) -> str:
    # Category Cf: U+00AD soft hyphen, U+200B-U+200F, U+202A-U+202E, U+2060-U+2064,
    # U+2066-U+2069, U+FEFF, U+061C, U+180E, tags U+E0000-U+E007F ...
    if text.isascii():
        return text
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf")


def normalise_for_matching(text: str) -> str:
    """Fold ``text`` for comparison: NFKC, no invisible characters, casefold, no accents,
    confusables folded (:mod:`aggregator.pipeline.confusables`), single spaces."""
    if text.isascii():
        return " ".join(text.casefold().split())
    # One pass can expose a new fold (a confusable's target may carry a mark: "ꮏ" -> "ţ"),
    # so repeat until nothing changes; matching needs N(N(x)) == N(x). Two passes suffice in
    # practice; the bound keeps the work linear.
    for _ in range(4):
        folded = _fold_once(text)
        if folded == text:
            break
        text = folded
    return text


def _fold_once(text: str) -> str:
    if text.isascii():
        return " ".join(text.casefold().split())
    text = fold_confusables(text)  # before NFKC: "ϲ" looks like "c", NFKC makes it "ς"
    text = unicodedata.normalize("NFKC", text)
    text = _drop_format(text)
    text = _INVISIBLE.sub("", text)
    text = fold_confusables(_strip_marks(text))
    text = _strip_marks(unicodedata.normalize("NFKC", text.casefold()))  # "İ" casefolds to "i" + a mark
    # Again after case folding: a lower-case letter folds like the capital it resembles.
    text = fold_confusables(text).casefold()
    return " ".join(text.split())


def _strip_marks(text: str) -> str:
    return unicodedata.normalize("NFC", _MARKS.sub("", unicodedata.normalize("NFD", text)))


# --- phrase search -----------------------------------------------------------------

_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g",
                       "@": "a", "$": "s", "!": "i", "|": "l"})  # fmt: skip
_LEET_TOKEN = re.compile(r"[\w@$!|]+")
_WORD = re.compile(r"\w+")
_SIMPLE_WORD = _WORD
_LEET_CHARS = frozenset("013457890@$!|")


def _leet_token(m: re.Match[str]) -> str:
    token = m.group(0)
    # A leading @ is a mention and trailing ! is punctuation: keep them as they are.
    core = token.lstrip("@").rstrip("!")
    if not core or not any(c in _LEET_CHARS for c in core) or not any(c.isalpha() for c in core):
        return token
    start = token.index(core)
    return token[:start] + core.translate(_LEET) + token[start + len(core) :]


def leet_fold(text_norm: str) -> str:
    """Undo common leetspeak in words that mix letters with digits/symbols (``"sh1t"`` -> ``"shit"``).

    Pure numbers ("2024", "3.14") are left alone.
    """
    return _LEET_TOKEN.sub(_leet_token, text_norm)


def _unspaced_script(ch: str) -> bool:
    """True for scripts written without spaces between words (no word boundary to require)."""
    o = ord(ch)
    return (
        0x0E00 <= o <= 0x0EFF  # Thai, Lao
        or 0x1000 <= o <= 0x109F  # Myanmar
        or 0x1780 <= o <= 0x17FF  # Khmer
        or 0x3040 <= o <= 0x30FF  # Hiragana, Katakana
        or 0x3400 <= o <= 0x4DBF  # CJK extension A
        or 0x4E00 <= o <= 0x9FFF  # CJK unified ideographs
        or 0xF900 <= o <= 0xFAFF  # CJK compatibility ideographs
        or 0x20000 <= o <= 0x3FFFF  # CJK extensions B+
    )


def _is_word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _phrase_pattern(phrase_norm: str) -> str | None:
    """Regex source matching ``phrase_norm`` as a whole word/phrase, or None for an empty phrase."""
    phrase = phrase_norm.strip()
    prefix_match = phrase.endswith("*")
    phrase = phrase.rstrip("*").strip()
    if not phrase:
        return None
    body = r"\W+".join(re.escape(part) for part in phrase.split())
    first, last = phrase[0], phrase[-1]
    left = r"(?<!\w)" if _is_word_char(first) and not _unspaced_script(first) else ""
    if prefix_match:
        right = r"\w*"
    elif _is_word_char(last) and not _unspaced_script(last):
        right = r"(?!\w)"
    else:
        right = ""
    return left + body + right


@lru_cache(maxsize=1024)
def _compiled_phrase(phrase_norm: str) -> re.Pattern[str] | None:
    src = _phrase_pattern(phrase_norm)
    return None if src is None else re.compile(src)


def contains_phrase(text_norm: str, phrase_norm: str, *, leet: bool = False) -> bool:
    """Whether normalised ``text_norm`` contains normalised ``phrase_norm`` as whole words.

    Both arguments should come from :func:`normalise_for_matching`. An empty
    phrase never matches.
    """
    pattern = _compiled_phrase(phrase_norm)
    if pattern is None:
        return False
    if pattern.search(text_norm):
        return True
    return leet and pattern.search(leet_fold(text_norm)) is not None


class PhraseMatcher:
    """A word list compiled for fast search; :meth:`find` names the phrase that matched.

    Plain single words (most of any list) are looked up in a set of the text's
    words, ``word*`` stems by prefix, and everything else (phrases with spaces
    or symbols, scripts without spaces) by one regex -- the same matches as
    :func:`contains_phrase`, much faster than one big alternation.
    """

    __slots__ = ("_names", "_pattern", "_stems", "_words", "phrases")

    def __init__(self, phrases: Iterable[str]) -> None:
        seen: dict[str, str] = {}
        for raw in phrases:
            norm = normalise_for_matching(raw).replace(I_OR_L, "i")
            if _phrase_pattern(norm) is not None:
                seen.setdefault(norm, raw.strip())
        # Longer phrases first, so "buy now cheap" is reported rather than "buy now".
        ordered = sorted(seen, key=lambda p: (-len(p), p))
        self.phrases: tuple[str, ...] = tuple(ordered)
        self._words: dict[str, str] = {}
        stems: dict[str, str] = {}
        complex_: list[str] = []
        for phrase in ordered:
            stem = phrase.rstrip("*").strip()
            if _SIMPLE_WORD.fullmatch(stem) and not any(map(_unspaced_script, stem)):
                (stems if phrase.endswith("*") else self._words)[stem] = seen[phrase]
            else:
                complex_.append(phrase)
        self._stems = tuple(sorted(stems.items(), key=lambda kv: (-len(kv[0]), kv[0])))
        self._names = {f"p{i}": seen[p] for i, p in enumerate(complex_)}
        alternatives = [f"(?P<p{i}>{_phrase_pattern(p)})" for i, p in enumerate(complex_)]
        self._pattern = re.compile("|".join(alternatives)) if alternatives else None

    def __bool__(self) -> bool:
        return bool(self.phrases)

    def _search(self, text_norm: str) -> str | None:
        if self._pattern is not None:
            m = self._pattern.search(text_norm)
            if m is not None and m.lastgroup is not None:
                return self._names[m.lastgroup]
        if self._words or self._stems:
            for word in _WORD.findall(text_norm):
                found = self._words.get(word)
                if found is not None:
                    return found
                for stem, name in self._stems:
                    if word.startswith(stem):
                        return name
        return None

    def find(self, text_norm: str, *, leet: bool = False) -> str | None:
        """The phrase (as it was written in the list) found in ``text_norm``, or None."""
        if not self.phrases or not text_norm:
            return None
        texts = [text_norm]
        if I_OR_L in text_norm:  # an "I or l" look-alike: try it as each
            texts = [text_norm.replace(I_OR_L, "i"), text_norm.replace(I_OR_L, "l")]
        for text in texts:
            found = self._search(text)
            if found is None and leet:
                folded = leet_fold(text)
                if folded != text:
                    found = self._search(folded)
            if found is not None:
                return found
        return None


@lru_cache(maxsize=64)
def phrase_matcher(phrases: tuple[str, ...]) -> PhraseMatcher:
    """A cached :class:`PhraseMatcher` for a (config) tuple of phrases."""
    return PhraseMatcher(phrases)


# --- similarity ----------------------------------------------------------------------

_URL = re.compile(r"https?://\S*")
_DOTTED = re.compile(r"\w\.\w")
_MENTION = re.compile(r"(?<![\w@])@\w[\w.\-]*(?:@[\w\-]+(?:\.[\w\-]+)+)?")  # @a, @a@host.tld, @a.bsky.social
_ELLIPSIS = ("…", "...")
_MIN_PREFIX_TOKENS = 5
# difflib's ratio is super-linear (worst cases cubic: two 500-word texts of one repeated word take
# seconds); posts are far shorter, so comparing the first 200 words leaves real decisions unchanged.
MAX_SIMILARITY_TOKENS = 200


def _is_link_text(word: str) -> bool:
    return word.startswith("www.") or ("/" in word and _DOTTED.search(word) is not None)


@lru_cache(maxsize=8192)
def _similarity_view(text: str) -> tuple[tuple[str, ...], bool, str]:
    norm = normalise_for_matching(text)
    truncated = norm.endswith(_ELLIPSIS)
    # Links (and link text such as "example.com/path...", as Bluesky shows them) go word by word:
    # one regex for this would backtrack badly on long unbroken strings.
    words = [w for w in _URL.sub(" ", norm).split() if not _is_link_text(w)]
    stripped = _MENTION.sub(" ", " ".join(words))
    return tuple(_WORD.findall(stripped)), truncated, norm


def text_tokens(text: str) -> tuple[str, ...]:
    """The words :func:`similarity` compares: normalised, without links, mentions or ``#`` marks."""
    return _similarity_view(text)[0]


def _ratio(a: tuple[str, ...], b: tuple[str, ...], at_least: float) -> float:
    a, b = a[:MAX_SIMILARITY_TOKENS], b[:MAX_SIMILARITY_TOKENS]
    # difflib's matching blocks are a common subsequence, so the LCS ratio (fast, symmetric) is an
    # upper bound of its ratio: below `at_least`, difflib cannot reach it either and need not run.
    bound = float(Indel.normalized_similarity(a, b))
    if bound < at_least - 1e-9:
        return bound
    if a > b:  # SequenceMatcher is not always symmetric: fix the order
        a, b = b, a
    return SequenceMatcher(None, a, b, autojunk=False).ratio()


def similarity(a: str, b: str, *, at_least: float = 0.0) -> float:
    """How alike two posts' texts are, 0.0-1.0, for cross-post detection.

    Compares word sequences (difflib ratio over tokens) after normalising and
    dropping links, @mentions and ``#`` marks (each platform rewrites those).
    A text ending in an ellipsis (a copy cut to fit a length limit) is also
    compared with the same-length start of the other. Texts with no words left
    score 1.0 only when their normalised forms are equal and non-empty. Only
    the first MAX_SIMILARITY_TOKENS words are compared. With ``at_least``, a
    score below it may be any value below it (an upper bound, not difflib's):
    callers that only ask "at least this similar?" get the same answer faster.
    """
    ta, cut_a, na = _similarity_view(a)
    tb, cut_b, nb = _similarity_view(b)
    if not ta or not tb:
        return 1.0 if na and na == nb else 0.0
    if ta == tb:
        return 1.0
    best = _ratio(ta, tb, at_least)
    for short, cut, long in ((ta, cut_a, tb), (tb, cut_b, ta)):
        # The last word of a truncated copy may itself be cut: compare without it.
        if cut and len(short) > _MIN_PREFIX_TOKENS and len(short) <= len(long):
            head = short[:-1]
            best = max(best, _ratio(head, long[: len(head)], at_least))
    return best
