"""`aggregator report --pdf`: the report page printed to A4 by WeasyPrint (the optional `pdf` extra).

The page is the same template as /e/<slug>/report. WeasyPrint fetches nothing
from the network: a URL fetcher hands it our stylesheets and the kept media
files, and refuses every other address.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from aggregator.export.html_archive import archive_env, render
from aggregator.media.store import MediaStore, image_type
from aggregator.paths import static_dir
from aggregator.report import build_report
from aggregator.storage import EventRecord, Storage

BASE = "https://report.invalid/"
CSS = ("common.css", "timeline.css", "report.css")


class PdfUnavailable(Exception):
    """WeasyPrint (or the system libraries it needs) is missing; the message says what to install."""


def _weasyprint() -> Any:
    from PIL import ImageFile

    # WeasyPrint turns on Pillow's process-wide LOAD_TRUNCATED_IMAGES when imported; our photo hashing
    # relies on truncated images failing, so the setting is put back.
    lenient = ImageFile.LOAD_TRUNCATED_IMAGES
    try:
        import weasyprint
    except ImportError:
        raise PdfUnavailable("PDF reports need WeasyPrint: pip install 'event-aggregator[pdf]'") from None
    except OSError as exc:  # installed, but Pango/HarfBuzz are not
        raise PdfUnavailable(f"WeasyPrint is installed but cannot load its system libraries ({exc}); "
                             "install Pango (Debian/Ubuntu: apt-get install libpango-1.0-0 libpangoft2-1.0-0)"
                             ) from None
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = lenient
    return weasyprint


def pdf_unavailable() -> str | None:
    """Why PDFs cannot be made here, or None when they can."""
    try:
        _weasyprint()
    except PdfUnavailable as exc:
        return str(exc)
    return None


def report_html(storage: Storage, event: EventRecord, now: datetime) -> str:
    report = build_report(storage, event, now)
    urls = {u for p in (*report.top_posts, *report.top_photos) for m in p.media for u in (m.url, m.thumbnail_url) if u}
    kept = storage.kept_media(sorted(urls))
    names = {url: f"media/{k.sha256}" for url, k in kept.items()}
    return "".join(render(archive_env(), "report/report.html", {
        "event": event, "report": report, "root": "", "css": [f"assets/{n}" for n in CSS], "home_href": "",
        "media_name": lambda url: names.get(url) if url else None,
        "post_href": lambda p: p.url if p.url.startswith("http") else "",
        "story_href": lambda s: f"#story-{s.slug}"}))


def write_pdf(storage: Storage, store: MediaStore, event: EventRecord, out: Path, now: datetime) -> int:
    """Write the PDF; returns its number of pages."""
    weasyprint = _weasyprint()

    def resource(url: str) -> tuple[bytes, str]:
        if url.startswith(BASE + "assets/") and url[len(BASE) + 7:] in CSS:
            return (static_dir() / url[len(BASE) + 7:]).read_bytes(), "text/css"
        if url.startswith(BASE + "media/"):
            with store.open(url[len(BASE) + 6:]) as fh:
                data = fh.read()
            return data, image_type(data[:16]) or "application/octet-stream"
        raise ValueError(f"the report fetches nothing from the network: {url}")

    fetcher: Any
    urls: Any = getattr(weasyprint, "urls", None)
    if hasattr(urls, "URLFetcher"):  # WeasyPrint 68+: a URLFetcher subclass answering `fetch`
        class LocalOnly(urls.URLFetcher):  # type: ignore[misc]
            def fetch(self, url: str, headers: Any = None) -> Any:
                data, mime = resource(url)
                return urls.URLFetcherResponse(url, data, {"Content-Type": mime})

        fetcher = LocalOnly()
    else:  # older: a function returning a dict
        def fetcher(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
            data, mime = resource(url)
            return {"string": data, "mime_type": mime}

    document = weasyprint.HTML(string=report_html(storage, event, now), base_url=BASE,
                               url_fetcher=fetcher).render()
    out.parent.mkdir(parents=True, exist_ok=True)
    document.write_pdf(str(out))
    return len(document.pages)
