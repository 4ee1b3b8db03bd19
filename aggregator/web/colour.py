"""Colour arithmetic for the event's accent: a shade white text can sit on (WCAG AA, 4.5:1)."""

from __future__ import annotations

AA = 4.5


def _channel(c: float) -> float:
    c /= 255
    return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4


def luminance(hex_colour: str) -> float:
    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def for_white_text(hex_colour: str, ratio: float = AA) -> str:
    """The accent itself if white text on it reaches `ratio`, else the lightest darker shade that does."""
    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    for step in range(0, 101):
        f = 1 - step / 100
        shade = f"#{round(r * f):02x}{round(g * f):02x}{round(b * f):02x}"
        if contrast(shade, "#ffffff") >= ratio:
            return shade
    return "#000000"
