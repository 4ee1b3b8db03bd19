"""The report's counting: a person cross-posting to several networks is one contributor."""

from __future__ import annotations

from aggregator.report import contributors


def test_linked_accounts_count_once() -> None:
    assert contributors({1, 2, 3, 4}, []) == 4
    # 1 cross-posted to 2 and 3 (three networks): one person; 4 is someone else.
    assert contributors({1, 2, 3, 4}, [(2, 1), (3, 1)]) == 2
    # A link to an account with no card of its own still joins the ones that have.
    assert contributors({1, 3}, [(1, 9), (3, 9)]) == 1


def test_making_pdfs_leaves_pillow_strict() -> None:
    from PIL import ImageFile

    from aggregator.web.report_pdf import pdf_unavailable

    pdf_unavailable()  # imports WeasyPrint when it is there
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
