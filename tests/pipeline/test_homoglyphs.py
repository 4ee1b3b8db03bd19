"""Homoglyphs: look-alike characters do not get a blocked word, a held word or a blocked author past moderation.

The attack: ``cаsino`` with a Cyrillic ``а`` passed a ``casino`` blocklist. The
properties draw look-alikes from Unicode's confusables data (as shipped by the
``confusable-homoglyphs`` package), not from our own folding table.
"""

from __future__ import annotations

import json
from datetime import timedelta
from functools import cache
from importlib import resources
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.config import ModerationSettings
from aggregator.pipeline.moderate import ModerationContext, moderate, profanity_matcher
from aggregator.pipeline.textnorm import PhraseMatcher, normalise_for_matching
from aggregator.types import Decision, Platform, Status

from .factories import T0, at, make_author, make_post

BLOCKED = ("casino", "viagra", "crypto giveaway", "spam", "scam", "lottery", "porn", "loan")


def _ctx() -> ModerationContext:
    return ModerationContext(event_start=T0, event_end=T0 + timedelta(hours=9), now=at(60))


def _decide(text: str, **policy: Any) -> Decision:
    return moderate(make_post(text=text), ModerationSettings(**policy), _ctx())


@pytest.mark.parametrize(
    "text",
    [
        "Win big at the cаsino tonight",  # Cyrillic а (the reported attack)
        "CАSІNO night!",  # Cyrillic capitals А and І
        "best ｃａｓｉｎｏ deals",  # fullwidth
        "c\u200basino",  # zero-width space between letters
        "c\u2060a\u00ads\u200dino",  # word joiner, soft hyphen, zero-width joiner
        "cásino",  # precomposed accent
        "c\u0301asino",  # combining mark inserted between letters
        "ϲаѕіnο",  # Greek lunate sigma, Cyrillic а ѕ і, Greek omicron
        "𝐜𝐚𝐬𝐢𝐧𝐨",  # mathematical bold
    ],
)
def test_disguised_blocked_word_is_rejected(text: str) -> None:
    assert _decide(text, blocked_words=["casino"]) == Decision(Status.REJECTED, "blocked_word", "casino")


def test_disguised_held_word_is_held() -> None:
    assert _decide("free lоttеry tickets", queue_words=["lottery"]) == Decision(Status.PENDING, "queue_word",
                                                                               "lottery")


def test_disguised_blocked_author_is_rejected() -> None:
    # Cyrillic р and а in the handle; the list names the real account.
    post = make_post(author=make_author(Platform.X, handle="раypal_support", external_id="x-999"))
    decision = moderate(post, ModerationSettings(blocked_authors=["paypal_support"]), _ctx())
    assert decision.status is Status.REJECTED and decision.rule == "blocked_author"


def test_a_list_written_with_look_alikes_still_matches_plain_text() -> None:
    assert _decide("the casino is open", blocked_words=["cаsino"]).rule == "blocked_word"


# --- properties -----------------------------------------------------------------------------


@cache
def _look_alikes() -> dict[str, tuple[str, ...]]:
    """ASCII letter -> non-ASCII letters Unicode lists as confusable with it (either case)."""
    raw = resources.files("confusable_homoglyphs").joinpath("confusables.json").read_text(encoding="utf-8")
    data: dict[str, list[dict[str, str]]] = json.loads(raw)
    out: dict[str, tuple[str, ...]] = {}
    for letter in "abcdefghijklmnopqrstuvwxyz":
        found = {
            e["c"] for key in (letter, letter.upper()) for e in data.get(key, [])
            if len(e["c"]) == 1 and not e["c"].isascii() and e["c"].isalpha()
        }
        out[letter] = tuple(sorted(found))
    return out


def _disguise(word: str) -> st.SearchStrategy[str]:
    def one(ch: str) -> st.SearchStrategy[str]:
        alikes = _look_alikes().get(ch, ())
        return st.sampled_from((ch, *alikes)) if alikes else st.just(ch)

    return st.tuples(*(one(c) for c in word)).map("".join)


def _list_words() -> list[str]:
    shipped = [p.rstrip("*") for p in profanity_matcher().phrases if p.rstrip("*").isascii()]
    return sorted({*BLOCKED, *shipped})


@settings(max_examples=300, deadline=None)
@given(data=st.data(), word=st.sampled_from(_list_words()))
def test_any_confusable_substitution_of_a_listed_word_is_still_matched(data: st.DataObject, word: str) -> None:
    disguised = data.draw(_disguise(word))
    matcher = PhraseMatcher([word])
    text = normalise_for_matching(f"look: {disguised}!")
    assert matcher.find(text, leet=True) == word, (word, disguised, text)


# Letters of each script that look like no ASCII letter or digit in either case: a word holding
# one of them is not confusable with any ASCII word.
def _unlike_ascii(alphabet: str) -> str:
    return "".join(c for c in alphabet if not normalise_for_matching(c).isascii())


CYRILLIC = "абвгдеёжзийклмнопрстуфхцчшщъыьэюя"
GREEK = "αβγδεζηθικλμνξοπρστυφχψω"
LATIN_ACCENTED_WORDS = ("über", "déjà", "façade", "smørrebrød", "żółw")


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from((CYRILLIC, GREEK)).flatmap(
        lambda alphabet: st.tuples(
            st.text(st.sampled_from(alphabet), min_size=0, max_size=6),
            st.sampled_from(_unlike_ascii(alphabet)),
            st.text(st.sampled_from(alphabet), min_size=0, max_size=6),
        ).map("".join)
    )
)
def test_a_word_not_confusable_with_a_listed_word_is_not_matched(word: str) -> None:
    matcher = PhraseMatcher(_list_words())
    assert matcher.find(normalise_for_matching(word), leet=True) is None


def test_the_unlike_ascii_letters_are_most_of_each_alphabet() -> None:
    # Guards the property above against a folding table that folds everything to ASCII.
    assert len(_unlike_ascii(CYRILLIC)) >= 8 and len(_unlike_ascii(GREEK)) >= 8


@pytest.mark.parametrize(
    "text",
    [
        "Съешь же ещё этих мягких французских булок, да выпей чаю. Конференция началась в девять утра.",
        "Спасибо организаторам: доклад про кооперативы был отличный, слайды выложат завтра.",
        "Ξεσκεπάζω την ψυχοφθόρα βδελυγμία. Η ομιλία για τα συνεταιριστικά μοντέλα ήταν εξαιρετική.",
        "Γεια σας από το συνέδριο! Τα εργαστήρια ξεκινούν στις 14:00.",
        "Über déjà-vu façades, smørrebrød and żółw: a lovely café session on loans",
    ],
)
def test_real_sentences_are_not_matched_by_the_shipped_list(text: str) -> None:
    decision = _decide(text, mode="post", use_profanity_list=True,
                       blocked_words=["casino", "viagra", "spam", "scam", "porn"])
    assert decision == Decision(Status.APPROVED, "mode:post"), decision


def test_folding_the_blocklist_happens_once() -> None:
    # The matcher folds its list when it is built; finding is a lookup per word of the text.
    matcher = PhraseMatcher(["cаsino"])
    assert matcher.phrases == ("casino",)
