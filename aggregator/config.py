"""Event configuration: one TOML file per deployment -> typed, validated settings.

Every setting has a default (where one makes sense), help text (the Field
description, which docs/configuration.md must mention: a test checks) and a
validator. A wrong file raises ConfigError with one message that names the
file, the key path and the problem; the CLI turns it into exit code 2.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

DEFAULT_DATABASE_URL = "sqlite:///data/aggregator.db"
SOURCE_KINDS = ("x", "mastodon", "bluesky", "flickr", "youtube", "feed")
SourceKind = Literal["x", "mastodon", "bluesky", "flickr", "youtube", "feed"]
SessionKind = Literal["talk", "workshop", "open_space", "break", "other"]

# Credentials each source kind needs: name -> required?  Values in the file are
# the *names* of environment variables, never the secrets themselves.
CREDENTIALS: dict[str, dict[str, bool]] = {
    "x": {"bearer_token": True},
    "mastodon": {"access_token": False},
    "bluesky": {"identifier": True, "app_password": True},
    "flickr": {},
    "youtube": {},
    "feed": {},
}

# Where each kind talks to when `api_base` is not set.
DEFAULT_API_BASE: dict[str, str] = {
    "x": "https://api.twitter.com",
    "mastodon": "https://mastodon.social",
    "bluesky": "https://bsky.social",
    "flickr": "https://www.flickr.com",
    "youtube": "https://www.youtube.com",
    "feed": "",
}


class ConfigError(Exception):
    """A configuration problem, worded for the person who wrote the file."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PrivateFetchSettings(_Model):
    hosts: tuple[str, ...] = Field(
        (),
        description="Host names, addresses or networks (CIDR, e.g. 10.1.0.0/16) the server may fetch from "
        "although they are not public: loopback, private, link-local, unique-local. An intranet feed, the "
        "sandbox (127.0.0.1, ::1, localhost). Empty: public addresses only.",
    )
    ports: tuple[int, ...] = Field((), description="Ports besides 80 and 443 that fetches may use, on any host.")
    any_port: bool = Field(False, description="Allow fetches to every port (the sandbox listens on a random one).")

    @field_validator("hosts")
    @classmethod
    def _hosts(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for entry in value:
            text = entry.strip()
            if not text or any(c.isspace() for c in text) or ("/" in text and not _is_network(text)):
                raise ValueError(f"not a host name, address or network: {entry!r}")
        return value

    @field_validator("ports")
    @classmethod
    def _ports(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if any(not 0 < p < 65536 for p in value):
            raise ValueError("ports must be between 1 and 65535")
        return value


def _is_network(text: str) -> bool:
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        return False
    return True


class ServerSettings(_Model):
    database_url: str = Field(
        DEFAULT_DATABASE_URL,
        description="SQLAlchemy URL of the database; DATABASE_URL in the environment overrides it. "
        "sqlite:///path or postgresql+psycopg://user@host/db. A relative SQLite path is relative to the "
        "folder of this file.",
    )
    public_url: str = Field(
        "http://127.0.0.1:8000", description="Public base URL of this server (used in QR codes, embeds, feeds)."
    )
    secret_key_env: str = Field(
        "AGGREGATOR_SECRET_KEY",
        description="Name of the environment variable holding the key that signs session cookies. "
        "If unset, a random key is made at start (sessions end on restart).",
    )
    cors_origins: tuple[str, ...] = Field((), description="Origins allowed to call the JSON API from a browser.")
    media_dir: str = Field(
        "data/media", description="Folder for reporters' uploaded photos and the kept media (sha256/ inside)."
    )
    keep_media: bool = Field(
        True, description="Keep approved posts' photos, thumbnails, video posters and avatars in media_dir "
        "(a background job fetches them; pages then serve the local copy)."
    )
    media_max_file_mb: int = Field(20, ge=1, le=1024, description="Largest media file kept, MB.")
    media_max_event_mb: int = Field(2048, ge=1, description="Most media kept for one event, MB.")
    media_fetch_interval: int = Field(30, ge=5, le=86400, description="Seconds between runs of the media job.")
    media_origins: tuple[str, ...] = Field(
        (),
        description="Origins besides any https: one that photos and posters may load from (the demo adds its "
        "sandbox, which serves plain http on loopback).",
    )
    user_agent: str = Field(
        "event-aggregator/0.1 (+https://github.com/event-aggregator)",
        description="User-Agent sent to every platform.",
    )
    allow_private_fetch: PrivateFetchSettings = Field(
        default_factory=PrivateFetchSettings,
        description="Non-public destinations and extra ports the server may fetch from (collectors, "
        "thumbnails, redirects); everything else not public is refused (docs/security.md).",
    )


class ProgrammeSession(_Model):
    title: str = Field(description="Heading shown on the timeline and wall.")
    start: datetime = Field(description="Start, local time in the event's timezone (or with an offset).")
    end: datetime = Field(description="End, local time in the event's timezone (or with an offset).")
    room: str = Field("", description="Where it happens.")
    kind: SessionKind = Field("talk", description="talk, workshop, open_space, break or other.")
    speakers: tuple[str, ...] = Field((), description="Names of speakers or facilitators.")


class SourceSettings(_Model):
    kind: SourceKind = Field(description="x, mastodon, bluesky, flickr, youtube or feed.")
    name: str = Field("", description="Unique name within the event; defaults to the kind (plus a number).")
    enabled: bool = Field(True, description="Collect from this source.")
    interval: int = Field(60, ge=5, le=86400, description="Seconds between polls.")
    api_base: str = Field(
        "", description="Base URL of the API or instance; every kind accepts it (the sandbox uses it)."
    )
    hashtags: tuple[str, ...] | None = Field(
        None, description="Hashtags to follow (without #); defaults to the event's hashtags."
    )
    match: Literal["any", "all"] = Field("any", description="Whether a post needs any or all of the hashtags.")
    keywords: tuple[str, ...] = Field((), description="Extra words or phrases to search for, where the API allows.")
    accounts: tuple[str, ...] = Field(
        (), description="Accounts whose posts count even without the hashtag (organisers, speakers)."
    )
    exclude_words: tuple[str, ...] = Field((), description="Posts containing these words are not collected.")
    exclude_accounts: tuple[str, ...] = Field((), description="Posts by these accounts are not collected.")
    credentials: dict[str, str] = Field(
        default_factory=dict,
        description="Credential name -> name of the environment variable that holds it.",
    )
    params: dict[str, Any] = Field(
        default_factory=dict,
        description="Kind-specific options: feed url; youtube channel_id/playlist_id; mastodon local/only_media; "
        "stream_stall (seconds of silence before a stream is reconnected).",
    )
    streaming: bool = Field(
        False,
        description="Mastodon and Bluesky: also follow the platform's live stream (Mastodon hashtag streaming, "
        "Bluesky Jetstream) so posts arrive within a second; polling continues at stream_poll_interval to "
        "catch up gaps, and at interval while the stream is down.",
    )
    stream_url: str = Field(
        "",
        description="Stream endpoint: Mastodon's streaming base (default api_base), Bluesky's Jetstream "
        "(default wss://jetstream2.us-east.bsky.network).",
    )
    stream_poll_interval: int = Field(
        600, ge=5, le=86400, description="Seconds between polls while the source's stream is healthy."
    )

    @field_validator("hashtags", "accounts", "exclude_accounts")
    @classmethod
    def _strip_marks(cls, v: tuple[str, ...] | None) -> tuple[str, ...] | None:
        return None if v is None else tuple(s.strip().lstrip("#@") for s in v if s.strip())

    @model_validator(mode="after")
    def _check_credentials(self) -> SourceSettings:
        known = CREDENTIALS[self.kind]
        for name in self.credentials:
            if name not in known:
                allowed = ", ".join(known) or "none"
                raise ValueError(f"unknown credential {name!r} for kind {self.kind} (allowed: {allowed})")
        if self.streaming and self.kind not in ("mastodon", "bluesky"):
            raise ValueError(f"streaming is available for mastodon and bluesky sources, not {self.kind}")
        if self.kind == "feed" and not self.params.get("url"):
            raise ValueError("a feed source needs params.url")
        if self.kind == "youtube" and not (self.params.get("channel_id") or self.params.get("playlist_id")):
            raise ValueError("a youtube source needs params.channel_id or params.playlist_id")
        return self

    @property
    def base_url(self) -> str:
        return (self.api_base or DEFAULT_API_BASE[self.kind]).rstrip("/")


class ModerationSettings(_Model):
    mode: Literal["pre", "post"] = Field(
        "pre", description="pre: everything waits for a moderator; post: shown unless a rule stops it."
    )
    blocked_words: tuple[str, ...] = Field((), description="Words or phrases that reject a post.")
    queue_words: tuple[str, ...] = Field((), description="Words or phrases that send a post to the queue.")
    use_profanity_list: bool = Field(True, description="Queue posts containing words from the shipped list.")
    trusted_authors: tuple[str, ...] = Field(
        (), description="Handles approved without review (platform:handle or handle)."
    )
    blocked_authors: tuple[str, ...] = Field((), description="Handles always rejected (platform:handle or handle).")
    hide_replies: bool = Field(False, description="Reject replies to other posts.")
    hide_reposts: bool = Field(False, description="Do not fold reposts into a count; reject them.")
    hide_sensitive: bool = Field(True, description="Queue posts whose media is flagged sensitive.")
    hide_content_warnings: bool = Field(True, description="Queue posts that carry a content warning.")
    languages: tuple[str, ...] = Field((), description="Language allowlist (ISO 639-1); empty allows all.")
    per_author_cap: int = Field(0, ge=0, description="Most posts one author may show per window; 0 for no cap.")
    per_author_window: int = Field(600, ge=1, description="Window of the per-author cap, seconds.")
    max_age_days: float = Field(
        7, gt=0, description="Posts older than this before the event starts are rejected."
    )
    max_future_minutes: float = Field(10, ge=0, description="Posts dated further ahead than this are queued.")
    crosspost_window: int = Field(
        1800, ge=0, description="Seconds within which one author's near-identical posts are one card."
    )
    crosspost_similarity: float = Field(
        0.9, gt=0, le=1, description="Text similarity (0-1) above which posts count as cross-posts."
    )
    photo_hash_distance: int = Field(
        6, ge=0, le=64, description="Most differing bits between perceptual hashes for one photo."
    )


WallMode = Literal["grid", "spotlight", "slideshow", "photos"]
WALL_MODES: tuple[str, ...] = ("grid", "spotlight", "slideshow", "photos")


class Slide(_Model):
    image: str = Field(description="Image address: https://... or a path on this server (/media/...).")
    text: str = Field("", max_length=200, description="One line shown with the image.")

    @field_validator("image")
    @classmethod
    def _image_address(cls, v: str) -> str:
        if not (v.startswith("https://") or (v.startswith("/") and not v.startswith("//"))):
            raise ValueError("use an https:// address or a path on this server")
        return v


class WallSettings(_Model):
    max_cards: int = Field(60, ge=1, le=500, description="Most cards on the wall at once.")
    theme: Literal["dark", "light"] = Field("dark", description="dark or light.")
    accent_colour: str = Field("#e4572e", pattern=r"^#[0-9a-fA-F]{6}$", description="Accent colour, #rrggbb.")
    logo_url: str = Field("", description="Logo shown in the wall's header.")
    background_url: str = Field("", description="Background image of the wall.")
    card_size: Literal["small", "medium", "large"] = Field("medium", description="small, medium or large.")
    platforms: tuple[str, ...] = Field((), description="Platforms shown on the wall; empty shows all.")
    show_media: bool = Field(True, description="Show photos and video posters on cards.")
    reduced_motion: bool = Field(False, description="No animations (also follows the viewer's OS setting).")
    high_contrast: bool = Field(False, description="High-contrast colours.")
    spotlight_seconds: int = Field(
        12, ge=3, description="Kept so older files still load; the spotlight now turns every dwell_seconds."
    )
    embed_origins: tuple[str, ...] = Field((), description="Origins allowed to frame the embeds.")
    mode: WallMode = Field(
        "grid", description="grid (newest first, top left), spotlight (one large post and a strip of the next), "
        "slideshow (one post at a time, full screen) or photos (a mosaic of media posts)."
    )
    media_only: bool = Field(False, description="Show only posts with a photo or a video.")
    hashtags: tuple[str, ...] = Field(
        (), description="Show only posts with one of these hashtags (without #); empty shows all of the event's."
    )
    dwell_seconds: int = Field(
        10, ge=3, le=600, description="Seconds each post stays up in slideshow and spotlight, and between "
        "highlights when the grid is idle."
    )
    inline_video: bool = Field(
        True, description="Play video files that platforms serve directly (Mastodon, Bluesky, X) inline, muted "
        "and looping; other videos show a poster and a QR code."
    )
    footer: bool = Field(False, description="A fixed footer with the hashtags and the QR code.")
    slides: tuple[Slide, ...] = Field(
        (), description="Organiser slides (sponsors, calls to action) shown between posts in slideshow and "
        "spotlight."
    )
    slide_every: int = Field(
        4, ge=1, le=100, description="Show one organiser slide after this many posts (slideshow, spotlight)."
    )

    @field_validator("hashtags")
    @classmethod
    def _clean_tags(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(t.strip().lstrip("#").lower() for t in v if t.strip().lstrip("#"))


WALL_NAME = r"^[a-z0-9][a-z0-9-]{0,39}$"


class NamedWall(WallSettings):
    """One of several walls of an event: the event's [wall] settings with these keys on top."""

    name: str = Field(pattern=WALL_NAME, description="URL name: the wall is at /e/<slug>/wall/<name>.")
    title: str = Field("", description="Shown in the wall's header after the event's title.")

    def overlay(self, base: WallSettings) -> WallSettings:
        """`base` with the keys this entry sets (the others follow the event's [wall])."""
        own = self.model_dump(include=self.model_fields_set - {"name", "title"})
        return WallSettings.model_validate({**base.model_dump(), **own})


class EventSettings(_Model):
    slug: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$", description="URL name: lower-case letters, digits, -.")
    title: str = Field(description="Name of the event.")
    timezone: str = Field("UTC", description="IANA timezone of the venue, e.g. Europe/London.")
    start: datetime = Field(description="Start of the event, local time (or with an offset).")
    end: datetime = Field(description="End of the event, local time (or with an offset).")
    venue: str = Field("", description="Where it is.")
    url: str = Field("", description="The organiser's event page (QR code on the wall).")
    hashtags: tuple[str, ...] = Field(description="The event's hashtags, without #.")
    programme: tuple[ProgrammeSession, ...] = Field((), description="The sessions of the day.")
    sources: tuple[SourceSettings, ...] = Field((), description="Where posts are collected from.")
    moderation: ModerationSettings = Field(default_factory=ModerationSettings, description="Moderation policy.")
    wall: WallSettings = Field(default_factory=WallSettings, description="Wall display options.")
    walls: tuple[NamedWall, ...] = Field(
        (), description="More walls of this event, each at /e/<slug>/wall/<name> with its own options."
    )
    report_public: bool = Field(
        False, description="Anyone may read the report of the day (/e/<slug>/report); otherwise organisers only."
    )

    @field_validator("timezone")
    @classmethod
    def _valid_timezone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {v!r} (use an IANA name such as Europe/London)") from None
        return v

    @field_validator("hashtags")
    @classmethod
    def _clean_hashtags(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        tags = tuple(t.strip().lstrip("#") for t in v if t.strip().lstrip("#"))
        if not tags:
            raise ValueError("at least one hashtag is needed")
        return tags

    @model_validator(mode="after")
    def _check(self) -> EventSettings:
        if self.utc(self.end) <= self.utc(self.start):
            raise ValueError("end must be after start")
        for i, s in enumerate(self.programme):
            if self.utc(s.end) <= self.utc(s.start):
                raise ValueError(f"programme[{i}]: end must be after start ({s.title})")
        wall_names: set[str] = set()
        for i, w in enumerate(self.walls):
            if w.name in wall_names:
                raise ValueError(f"walls[{i}]: duplicate wall name {w.name!r}")
            wall_names.add(w.name)
        names: set[str] = set()
        for i in range(len(self.sources)):
            name = self.source_name(i)
            if name in names:
                raise ValueError(f"sources[{i}]: duplicate source name {name!r}")
            names.add(name)
        return self

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def utc(self, value: datetime) -> datetime:
        """A configured time (naive = event-local) as aware UTC."""
        if value.tzinfo is None:
            value = value.replace(tzinfo=self.tz)
        return value.astimezone(UTC)

    def wall_settings(self, name: str = "") -> WallSettings | None:
        """The settings of the named wall ("" is the event's own wall), None when there is no such wall."""
        if not name:
            return self.wall
        for w in self.walls:
            if w.name == name:
                return w.overlay(self.wall)
        return None

    def source_name(self, index: int) -> str:
        src = self.sources[index]
        if src.name:
            return src.name
        same = [s for s in self.sources[:index] if s.kind == src.kind and not s.name]
        return src.kind if not same else f"{src.kind}-{len(same) + 1}"

    def source_hashtags(self, src: SourceSettings) -> tuple[str, ...]:
        return src.hashtags if src.hashtags is not None else self.hashtags


class Settings(_Model):
    server: ServerSettings = Field(default_factory=ServerSettings, description="Server-wide settings.")
    events: Annotated[tuple[EventSettings, ...], Field(min_length=1)] = Field(
        description="The events this deployment serves."
    )

    @model_validator(mode="after")
    def _unique_slugs(self) -> Settings:
        seen: set[str] = set()
        for i, ev in enumerate(self.events):
            if ev.slug in seen:
                raise ValueError(f"events[{i}].slug: {ev.slug!r} is used by another event")
            seen.add(ev.slug)
        return self

    def event(self, slug: str) -> EventSettings:
        for ev in self.events:
            if ev.slug == slug:
                return ev
        raise KeyError(slug)


@dataclass(frozen=True, slots=True)
class LoadedConfig:
    """Settings plus where they came from and the resolved database URL."""

    path: Path
    settings: Settings
    database_url: str
    secrets: Mapping[str, Mapping[str, str]]  # "event/source" -> credential name -> value


def _key_path(loc: tuple[int | str, ...]) -> str:
    """pydantic's error location as a TOML-ish key path: events[0].sources[1].kind."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out or "(top level)"


_KEYED = re.compile(r"^((?:[A-Za-z_]\w*)(?:\[\d+\])*(?:\.[A-Za-z_]\w*(?:\[\d+\])*)*): (.*)$", re.S)


def _located(err: Mapping[str, Any]) -> str:
    """"key.path: problem"; a validator's own "sub.key: problem" message extends the path."""
    where = _key_path(tuple(err["loc"]))
    what = _describe(err)
    keyed = _KEYED.match(what)
    if keyed:
        sub, what = keyed.groups()
        where = f"{where}.{sub}" if err["loc"] else sub
    return f"{where}: {what}"


def _describe(err: Mapping[str, Any]) -> str:
    kind = err.get("type", "")
    if kind == "extra_forbidden":
        return "unknown key (misspelt?)"
    if kind == "missing":
        return "required key is missing"
    if kind == "string_pattern_mismatch" and err.get("loc", ())[-1:] == ("slug",):
        return (f"{err.get('input')!r} is not a slug: use only lower-case letters a-z, digits and hyphens (-), "
                f"starting with a letter or digit, at most 63 characters (e.g. \"my-conference-2025\")")
    msg = str(err.get("msg", "invalid value"))
    return msg.removeprefix("Value error, ")


def parse_settings(data: Mapping[str, Any], path: Path) -> Settings:
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        errors = [e for e in exc.errors() if e["type"] != "too_short"] or exc.errors()
        # A misspelt key usually explains the "missing" errors beside it: show it first.
        errors.sort(key=lambda e: e["type"] != "extra_forbidden")
        lines = [f"{path}: {_located(e)}" for e in errors[:10]]
        if len(errors) > 10:
            lines.append(f"... and {len(errors) - 10} more problems")
        raise ConfigError("\n".join(lines)) from None


def load_config(path: str | Path | None = None, environ: Mapping[str, str] | None = None) -> LoadedConfig:
    """Read, validate and resolve one config file. Raises ConfigError."""
    env = os.environ if environ is None else environ
    raw_path = path or env.get("AGGREGATOR_CONFIG")
    if not raw_path:
        raise ConfigError("no config file: pass --config FILE or set AGGREGATOR_CONFIG (try `aggregator init`)")
    cfg_path = Path(raw_path)
    try:
        text = cfg_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{cfg_path}: file not found (try `aggregator init {cfg_path}`)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{cfg_path}: cannot read: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{cfg_path}: not valid TOML: {exc}") from None
    data = _normalise_times(data)
    settings = parse_settings(data, cfg_path)
    secrets = _resolve_secrets(settings, cfg_path, env)
    # A relative SQLite path in the file means "beside the file", wherever the command runs from
    # (from the environment it means the current directory, as any shell path does).
    database_url = env.get("DATABASE_URL") or sqlite_beside(settings.server.database_url, cfg_path.parent)
    return LoadedConfig(cfg_path, settings, database_url, secrets)


def sqlite_beside(url: str, folder: Path) -> str:
    """A SQLite URL with a relative file path made absolute against `folder`; other URLs unchanged."""
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception:  # not a URL at all: the storage layer reports it when it opens
        return url
    db = parsed.database
    if not parsed.drivername.startswith("sqlite") or not db or db == ":memory:" or db.startswith("file:"):
        return url
    if Path(db).is_absolute():
        return url
    return parsed.set(database=str((folder / db).resolve())).render_as_string(hide_password=False)


def _normalise_times(data: Any) -> Any:
    """TOML local dates/times become datetimes pydantic accepts; nothing else changes."""
    if isinstance(data, dict):
        return {k: _normalise_times(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_normalise_times(v) for v in data]
    if isinstance(data, date) and not isinstance(data, datetime):
        return datetime.combine(data, time())
    return data


def _resolve_secrets(
    settings: Settings, path: Path, env: Mapping[str, str]
) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for ei, ev in enumerate(settings.events):
        for si, src in enumerate(ev.sources):
            name = ev.source_name(si)
            values: dict[str, str] = {}
            for cred, required in CREDENTIALS[src.kind].items():
                var = src.credentials.get(cred)
                if var is None:
                    if required and src.enabled:
                        raise ConfigError(
                            f"{path}: events[{ei}].sources[{si}].credentials.{cred}: "
                            f"required for an enabled {src.kind} source (name an environment variable)"
                        )
                    continue
                value = env.get(var, "")
                if not value:
                    if src.enabled and required:
                        raise ConfigError(
                            f"{path}: events[{ei}].sources[{si}].credentials.{cred}: "
                            f"environment variable {var} is not set"
                        )
                    continue
                values[cred] = value
            out[f"{ev.slug}/{name}"] = values
    return out

