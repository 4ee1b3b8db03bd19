"""Word-list matching cost per post (normalise_for_matching + the shipped profanity list).

Run from a checkout: `PYTHONPATH=. .venv/bin/python scripts/bench_matching.py`; run it from an
older checkout with the same interpreter for a baseline. Best of 5 rounds of 3,000 posts each.
"""

from __future__ import annotations

import time

from aggregator.pipeline.moderate import profanity_matcher
from aggregator.pipeline.textnorm import PhraseMatcher, normalise_for_matching

TEXTS = {
    "english": "Great keynote on co-production this morning, slides at https://example.org/s #coprodscot " * 2,
    "russian": "Съешь же ещё этих мягких французских булок, да выпей чаю. Конференция началась в девять утра. " * 2,
    "disguised": "Wіn bіg at the cаsino tonight ｃａｓｉｎｏ c\u200basino cásino #coprodscot " * 2,
}


def main() -> None:
    matcher = profanity_matcher()
    t0 = time.perf_counter()
    normalise_for_matching("ы")  # builds the confusables table, if this version has one
    print(f"first non-ASCII call (table build): {(time.perf_counter() - t0) * 1e3:.0f} ms")
    for name, text in TEXTS.items():
        best = float("inf")
        for _ in range(5):
            posts = [f"{text}{i}" for i in range(3000)]  # distinct texts: no cache helps
            t0 = time.perf_counter()
            for p in posts:
                matcher.find(normalise_for_matching(p), leet=True)
            best = min(best, (time.perf_counter() - t0) / len(posts))
        print(f"{name}: {best * 1e6:.0f} us per post ({len(text)} characters)")
    t0 = time.perf_counter()
    PhraseMatcher([f"word{i}" for i in range(500)] + ["cаsino"])
    print(f"compiling a 501-entry list: {(time.perf_counter() - t0) * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
