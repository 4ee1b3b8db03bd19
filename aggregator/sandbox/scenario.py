"""A platform-neutral description of what people post during an event.

A Scenario lists people and posts; each post names its platform, when it is
released (seconds after the scenario starts), its text, hashtags, media and
references to other posts. The platform fakes turn one scenario post into
that platform's own wire format. Load one from JSON or TOML with
`load_scenario`, or use `default_scenario()`, which covers every feature.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any, Literal, get_args

PlatformName = Literal["x", "mastodon", "bluesky", "flickr", "youtube", "feed"]
PLATFORM_NAMES: tuple[str, ...] = get_args(PlatformName)
MediaKindName = Literal["photo", "video"]
Visibility = Literal["public", "unlisted", "private", "direct"]


class ScenarioError(ValueError):
    """A scenario file or object is inconsistent; the message names the problem."""


@dataclass(frozen=True, slots=True)
class MediaSpec:
    kind: MediaKindName = "photo"
    alt: str = ""  # alt text / description
    seed: str = ""  # draws the picture; the same seed is the same picture everywhere (default: post id + index)
    width: int = 1024
    height: int = 768
    duration: float = 30.0  # videos: seconds


@dataclass(frozen=True, slots=True)
class Person:
    key: str  # how posts refer to this person ("author", "@key" mentions in text)
    name: str  # display name
    handle: str = ""  # X username / Mastodon username / Flickr name; default: key
    bot: bool = False
    mastodon_instance: str = "a"  # home instance (one of Scenario.instances)
    bluesky_handle: str = ""  # default: "<handle>.bsky.social"
    youtube_channel: str = ""  # "UC..." channel id; default derived from the key
    flickr_nsid: str = ""  # "12345678@N05"; default derived from the key


@dataclass(frozen=True, slots=True)
class InstanceSpec:
    name: str  # path segment: /mastodon/<name>
    domain: str = ""  # shown in acct ("user@domain"); default "<name>.social.test"
    require_auth: bool = False  # hashtag timelines need `Authorization: Bearer`
    token: str = ""  # the token accepted when require_auth; empty accepts any


DEFAULT_INSTANCES = (InstanceSpec("a"), InstanceSpec("b"), InstanceSpec("c"))


@dataclass(frozen=True, slots=True)
class Auth:
    x_bearer_token: str = "sandbox-x-bearer-token"  # empty accepts any bearer token
    bluesky_identifier: str = "reporter.bsky.social"  # handle (or email) accepted by createSession
    bluesky_password: str = "sandbox-app-password"
    bluesky_access_ttl: float = 7200.0  # seconds an accessJwt lives
    bluesky_refresh_ttl: float = 90 * 86400.0  # seconds a refreshJwt lives


@dataclass(frozen=True, slots=True)
class ScenarioPost:
    id: str  # scenario-unique id (not a platform id)
    at: float  # release offset, seconds after the scenario start
    platform: PlatformName
    author: str  # Person.key
    text: str = ""  # "#tag", "@personkey" and URLs are recognised
    hashtags: tuple[str, ...] = ()  # appended as " #tag" when not already in the text
    media: tuple[MediaSpec, ...] = ()
    reply_to: str | None = None  # scenario post id on the same platform
    quote_of: str | None = None  # scenario post id on the same platform
    repost_of: str | None = None  # retweet / boost / Bluesky repost of a post on the same platform
    content_warning: str = ""  # Mastodon spoiler_text; Bluesky self-label
    sensitive: bool = False
    language: str | None = "en"
    instances: tuple[str, ...] = ()  # Mastodon: instances that see it (author's home one always does)
    visibility: Visibility = "public"  # Mastodon
    deleted_at: float | None = None  # offset at which the author deletes it
    edited_at: float | None = None  # offset at which it is edited to `edited_text`
    edited_text: str | None = None
    title: str = ""  # Flickr / YouTube / feed entry title
    feed: str = "blog"  # platform "feed": the feed's name (/feed/<name>.atom)
    playlists: tuple[str, ...] = ()  # YouTube playlist ids it belongs to
    likes: int = 0
    link_title: str = ""  # title of the first link's preview card


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    hashtags: tuple[str, ...]  # the event's hashtags (informational; posts carry their own)
    people: tuple[Person, ...]
    posts: tuple[ScenarioPost, ...]
    instances: tuple[InstanceSpec, ...] = DEFAULT_INSTANCES
    auth: Auth = field(default_factory=Auth)
    feed_titles: Mapping[str, str] = field(default_factory=dict)  # feed name -> channel title

    def __post_init__(self) -> None:
        validate(self)

    def person(self, key: str) -> Person:
        for p in self.people:
            if p.key == key:
                return p
        raise KeyError(key)

    def post(self, post_id: str) -> ScenarioPost:
        for p in self.posts:
            if p.id == post_id:
                return p
        raise KeyError(post_id)

    def instance(self, name: str) -> InstanceSpec:
        for i in self.instances:
            if i.name == name:
                return i
        raise KeyError(name)


# ---------------------------------------------------------------- validation


def validate(sc: Scenario) -> None:
    """Raise ScenarioError naming the first inconsistency."""
    keys = [p.key for p in sc.people]
    _unique(keys, "people", "key")
    _unique([i.name for i in sc.instances], "instances", "name")
    _unique([p.id for p in sc.posts], "posts", "id")
    inst_names = {i.name for i in sc.instances}
    for i in sc.instances:
        if not i.name or "/" in i.name:
            raise ScenarioError(f"instances: bad name {i.name!r}")
    for person in sc.people:
        if person.mastodon_instance not in inst_names:
            raise ScenarioError(f"people[{person.key}]: unknown mastodon_instance {person.mastodon_instance!r}")
    by_id = {p.id: p for p in sc.posts}
    for p in sc.posts:
        where = f"posts[{p.id}]"
        if p.platform not in PLATFORM_NAMES:
            raise ScenarioError(f"{where}: unknown platform {p.platform!r} (use one of {', '.join(PLATFORM_NAMES)})")
        if p.author not in keys:
            raise ScenarioError(f"{where}: unknown author {p.author!r}")
        if p.at < 0:
            raise ScenarioError(f"{where}: at must be >= 0")
        if p.deleted_at is not None and p.deleted_at < p.at:
            raise ScenarioError(f"{where}: deleted_at is before at")
        if p.edited_at is not None and (p.edited_at < p.at or p.edited_text is None):
            raise ScenarioError(f"{where}: edited_at needs edited_text and must not be before at")
        for m in p.media:
            if m.kind not in ("photo", "video"):
                raise ScenarioError(f"{where}: media kind must be photo or video")
            if not (16 <= m.width <= 4096 and 16 <= m.height <= 4096):
                raise ScenarioError(f"{where}: media size must be 16..4096 pixels")
        refs = [("reply_to", p.reply_to), ("quote_of", p.quote_of), ("repost_of", p.repost_of)]
        for name, ref in refs:
            if ref is None:
                continue
            target = by_id.get(ref)
            if target is None:
                raise ScenarioError(f"{where}: {name} names unknown post {ref!r}")
            if target.platform != p.platform:
                raise ScenarioError(f"{where}: {name} must name a post on the same platform ({p.platform})")
            if target.repost_of is not None:
                raise ScenarioError(f"{where}: {name} names a repost; name the original")
            if (target.at, sc.posts.index(target)) >= (p.at, sc.posts.index(p)):
                raise ScenarioError(f"{where}: {name} names a post released later")
            if p.platform in ("flickr", "youtube", "feed"):
                raise ScenarioError(f"{where}: {p.platform} posts cannot have {name}")
        if p.platform == "flickr" and not any(m.kind == "photo" for m in p.media):
            raise ScenarioError(f"{where}: a flickr post needs a photo")
        for inst in p.instances:
            if inst not in inst_names:
                raise ScenarioError(f"{where}: unknown instance {inst!r}")


def _unique(values: list[str], what: str, attr: str) -> None:
    seen: set[str] = set()
    for v in values:
        if v in seen:
            raise ScenarioError(f"{what}: duplicate {attr} {v!r}")
        seen.add(v)


# ---------------------------------------------------------------- loading


def builtin_scenario_names() -> tuple[str, ...]:
    """The scenarios shipped in aggregator/sandbox/data/scenarios/ (file name without .json)."""
    folder = resources.files("aggregator.sandbox") / "data" / "scenarios"
    return tuple(sorted(f.name.removesuffix(".json") for f in folder.iterdir() if f.name.endswith(".json")))


def builtin_scenario(name: str) -> Scenario:
    """A scenario shipped with the package, read from data/scenarios/<name>.json."""
    if name not in builtin_scenario_names():
        raise KeyError(name)
    with resources.as_file(resources.files("aggregator.sandbox") / "data" / "scenarios" / f"{name}.json") as p:
        return load_scenario(p)


def load_scenario(path: str | Path) -> Scenario:
    """Read a scenario from a .json or .toml file. Raises ScenarioError."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ScenarioError(f"{p}: cannot read: {exc}") from None
    try:
        if p.suffix.lower() == ".toml":
            data: Any = tomllib.loads(raw.decode("utf-8"))
        else:
            data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{p}: cannot parse: {exc}") from None
    try:
        return scenario_from_dict(data)
    except ScenarioError as exc:
        raise ScenarioError(f"{p}: {exc}") from None


def scenario_from_dict(data: Any) -> Scenario:
    """Build a Scenario from plain data (the JSON/TOML structure)."""
    if not isinstance(data, dict):
        raise ScenarioError("a scenario must be a table/object")
    top = _fields(Scenario, data, "scenario")
    top["people"] = tuple(_build(Person, d, f"people[{i}]") for i, d in enumerate(_list(data, "people")))
    top["posts"] = tuple(_build_post(d, f"posts[{i}]") for i, d in enumerate(_list(data, "posts")))
    if "instances" in data:
        top["instances"] = tuple(
            _build(InstanceSpec, d, f"instances[{i}]") for i, d in enumerate(_list(data, "instances"))
        )
    if "auth" in data:
        top["auth"] = _build(Auth, data["auth"], "auth")
    if "feed_titles" in data:
        ft = data["feed_titles"]
        if not isinstance(ft, dict) or not all(isinstance(v, str) for v in ft.values()):
            raise ScenarioError("feed_titles must map feed names to titles")
        top["feed_titles"] = dict(ft)
    top.setdefault("name", "scenario")
    top.setdefault("hashtags", ())
    return Scenario(**top)


def _list(data: dict[str, Any], key: str) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise ScenarioError(f"{key} must be a list")
    return value


def _build_post(d: Any, where: str) -> ScenarioPost:
    if not isinstance(d, dict):
        raise ScenarioError(f"{where} must be a table/object")
    media = d.get("media", [])
    if not isinstance(media, list):
        raise ScenarioError(f"{where}.media must be a list")
    values = _fields(ScenarioPost, d, where, skip={"media"})
    values["media"] = tuple(_build(MediaSpec, m, f"{where}.media[{i}]") for i, m in enumerate(media))
    for req in ("id", "at", "platform", "author"):
        if req not in values:
            raise ScenarioError(f"{where}: required key {req!r} is missing")
    return ScenarioPost(**values)


def _build(cls: Any, d: Any, where: str) -> Any:
    if not isinstance(d, dict):
        raise ScenarioError(f"{where} must be a table/object")
    return cls(**_fields(cls, d, where))


_NESTED = {"people", "posts", "instances", "auth", "feed_titles"}


def _fields(cls: Any, d: dict[str, Any], where: str, skip: set[str] | None = None) -> dict[str, Any]:
    """Check keys and simple types against the dataclass's defaults; lists become tuples."""
    known = {f.name: f for f in fields(cls)}
    skip = (skip or set()) | (_NESTED if cls is Scenario else set())
    out: dict[str, Any] = {}
    for key, value in d.items():
        if key in skip:
            continue
        if key not in known:
            raise ScenarioError(f"{where}: unknown key {key!r}")
        if isinstance(value, list):
            if not all(isinstance(v, str) for v in value):
                raise ScenarioError(f"{where}.{key}: must be a list of strings")
            value = tuple(value)
        elif isinstance(value, bool) or value is None or isinstance(value, str):
            pass
        elif isinstance(value, int | float):
            value = float(value) if key in ("at", "deleted_at", "edited_at", "duration") else value
        else:
            raise ScenarioError(f"{where}.{key}: unsupported value {value!r}")
        out[key] = value
    return out


def scenario_to_dict(sc: Scenario) -> dict[str, Any]:
    """The plain data `scenario_from_dict` reads back as an equal Scenario; defaults are left out."""
    out: dict[str, Any] = {"name": sc.name, "hashtags": list(sc.hashtags)}
    if sc.feed_titles:
        out["feed_titles"] = dict(sc.feed_titles)
    if sc.auth != Auth():
        out["auth"] = _non_default(sc.auth)
    if sc.instances != DEFAULT_INSTANCES:
        out["instances"] = [_non_default(i, keep=("name",)) for i in sc.instances]
    out["people"] = [_non_default(p, keep=("key", "name")) for p in sc.people]
    posts = []
    for post in sc.posts:
        d = _non_default(post, keep=("id", "at", "platform", "author"))
        if post.media:
            d["media"] = [_non_default(m, keep=("kind",)) for m in post.media]
        posts.append(d)
    out["posts"] = posts
    return out


def _non_default(obj: Any, keep: tuple[str, ...] = ()) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in fields(obj):
        value = getattr(obj, f.name)
        if f.name == "media":
            continue
        if f.name not in keep and value == f.default:
            continue
        out[f.name] = list(value) if isinstance(value, tuple) else value
    return out


# ---------------------------------------------------------------- the default scenario


def default_scenario() -> Scenario:
    """A one-day conference (after the 2014 co-production conference) that uses every feature."""
    return builtin_scenario("default")
