"""The API documentation (/docs): Swagger UI from assets shipped in a Python package, not a CDN.

The page follows the site's CSP: no inline script, so the initializer is the
static file /static/api-docs.js, and the bundle and its stylesheet come from
the `fastapi-offline` package's static folder, mounted at /docs-assets.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse

from aggregator.web.site import CachedStaticFiles

router = APIRouter(include_in_schema=False)

ASSETS_URL = "/docs-assets"


def assets_dir() -> Path:
    return Path(str(resources.files("fastapi_offline").joinpath("static")))


@router.get("/docs", response_class=HTMLResponse)
def api_docs(request: Request) -> HTMLResponse:
    html = request.app.state.templates.env.get_template("site/docs.html").render(
        {"request": request, "title": request.app.title, "assets": ASSETS_URL, "openapi_url": request.app.openapi_url})
    return HTMLResponse(html)


def mount_assets(app: FastAPI) -> None:
    app.mount(ASSETS_URL, CachedStaticFiles(directory=str(assets_dir())), name="docs-assets")
