"""The CLI: media fetch/status, export (bundle and backup), import into another database, report --pdf."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from aggregator.cli import main
from aggregator.storage import Storage
from aggregator.storage.migrate import upgrade
from tests.export.conftest import photo_post
from tests.factories import approved
from tests.sources.server import LocalServer

CONFIG = """
[server]
database_url = "sqlite:///{db}"
media_dir = "{media}"

[server.allow_private_fetch]
hosts = ["127.0.0.1"]
any_port = true

[[events]]
slug = "coproduction-2014"
title = "3rd National Co-production Conference"
timezone = "Europe/London"
start = 2014-04-23T09:00:00
end = 2014-04-23T16:30:00
hashtags = ["coprodscot"]
"""


def test_media_export_import_report(tmp_path: Path, image_server: LocalServer,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "event.toml"
    config.write_text(CONFIG.format(db=tmp_path / "a.db", media=tmp_path / "media"), encoding="utf-8")
    assert main(["migrate", "--config", str(config)]) == 0
    storage = Storage(f"sqlite:///{tmp_path / 'a.db'}")
    event = storage.events()[0]
    storage.ingest(event.id, None, [approved(photo_post(n, image_server.url)) for n in range(3)], None)
    storage.close()
    capsys.readouterr()

    assert main(["media", "fetch", "--config", str(config)]) == 0
    assert "media: kept 4 files" in capsys.readouterr().out  # 3 photos and one avatar
    assert main(["media", "status", "--config", str(config)]) == 0
    assert "coproduction-2014: 4 kept, 0 missing, 0 failed" in capsys.readouterr().out

    bundle = tmp_path / "out" / "day.zip"
    assert main(["export", "--config", str(config), "--event", "coproduction-2014", "--out", str(bundle)]) == 0
    assert "exported coproduction-2014" in capsys.readouterr().out
    with zipfile.ZipFile(bundle) as zf:
        assert "coproduction-2014-export/data/index.html" in zf.namelist()

    backup = tmp_path / "backup.zip"
    assert main(["export", "--config", str(config), "--event", "coproduction-2014", "--backup",
                 "--out", str(backup)]) == 0
    target = f"sqlite:///{tmp_path / 'b.db'}"
    assert main(["import", str(backup), "--database", target, "--media-dir", str(tmp_path / "media-b")]) == 0
    assert "imported coproduction-2014: 3 posts" in capsys.readouterr().out
    assert main(["import", str(backup), "--database", target, "--media-dir", str(tmp_path / "media-b")]) == 1
    assert "already has posts" in capsys.readouterr().err
    imported = Storage(target)
    upgrade(imported.engine)
    assert imported.approved_count(imported.events()[0].id) == 3
    imported.close()

    assert main(["export", "--config", str(config), "--event", "nope", "--out", str(bundle)]) == 2
    from aggregator.web.report_pdf import pdf_unavailable

    if pdf_unavailable():
        return  # test_web.test_report_pdf says whether that may be skipped
    assert main(["report", "--config", str(config), "--event", "coproduction-2014",
                 "--pdf", str(tmp_path / "r.pdf")]) == 0
    assert (tmp_path / "r.pdf").read_bytes().startswith(b"%PDF")
