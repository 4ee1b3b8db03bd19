"""Generated media, and the foreground `serve` entry point."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys

import requests
from PIL import Image

from aggregator.sandbox import Sandbox


def _ahash(data: bytes) -> int:
    img = Image.open(io.BytesIO(data)).convert("L").resize((8, 8))
    px = list(img.tobytes())
    mean = sum(px) / 64
    return sum(1 << i for i, v in enumerate(px) if v > mean)


def test_images(sandbox: Sandbox, http: requests.Session) -> None:
    base = sandbox.url("media")
    big = http.get(base + "/img/hall-1/1024x768.jpg", timeout=5)
    assert big.status_code == 200 and big.headers["content-type"] == "image/jpeg"
    with Image.open(io.BytesIO(big.content)) as img:
        assert img.size == (1024, 768) and img.format == "JPEG"
    small = http.get(base + "/img/hall-1/150x113.jpg", timeout=5).content
    other = http.get(base + "/img/hall-2/1024x768.jpg", timeout=5).content
    assert bin(_ahash(big.content) ^ _ahash(small)).count("1") <= 6  # a thumbnail looks like its photo
    assert bin(_ahash(big.content) ^ _ahash(other)).count("1") > 6
    png = http.get(base + "/img/hall-1/64x64.png", timeout=5)
    assert png.headers["content-type"] == "image/png" and png.content.startswith(b"\x89PNG")
    assert http.get(base + "/avatar/sam.png", timeout=5).headers["content-type"] == "image/png"
    assert http.get(base + "/poster/clip/320x180.jpg", timeout=5).status_code == 200
    assert http.get(base + "/video/clip.mp4", timeout=5).headers["content-type"] == "video/mp4"
    m3u8 = http.get(base + "/video/clip/playlist.m3u8", timeout=5)
    assert m3u8.text.startswith("#EXTM3U") and base + "/video/clip.mp4" in m3u8.text
    assert http.get(base + "/img/x/9999x1.jpg", timeout=5).status_code == 400
    assert http.get(base + "/vi/abc/hqdefault.jpg", timeout=5).status_code == 200


def test_serve_prints_ready_and_stops_on_sigterm() -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "aggregator.sandbox", "--port", "0", "--fast"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("sandbox ready: http://127.0.0.1:")
        url = line.split(": ", 1)[1].strip()
        with requests.Session() as s:
            assert s.get(url + "/_control/status", timeout=5).json()["fast"] is True
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
        assert proc.returncode == 0, err
        assert out == ""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
