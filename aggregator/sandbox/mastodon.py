"""Mastodon fake: several instances under /mastodon/<instance>.

Endpoints: GET /api/v1/timelines/tag/:hashtag, /api/v1/timelines/public,
/api/v1/statuses/:id, /api/v1/accounts/lookup, /api/v1/accounts/:id/statuses.
Each instance numbers statuses and accounts itself; the status `uri` (the
global identity) is the same on every instance that sees the post. As on
real Mastodon, hashtag and public timelines never contain boosts; boosts
appear in account timelines (`reblog` holds the original).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

from aggregator.sandbox import ids
from aggregator.sandbox.faults import rate_headers
from aggregator.sandbox.http import Request, Response, json_response
from aggregator.sandbox.limits import RateLimit
from aggregator.sandbox.scenario import InstanceSpec, Person, ScenarioPost
from aggregator.sandbox.streams import MastodonStreaming
from aggregator.sandbox.text import mastodon_html, segments, urls_of
from aggregator.sandbox.world import World, avatar_url, iso_ms

DEFAULT_LIMIT = 20
MAX_LIMIT = 40
VIDEO_HOSTS = ("youtube.com", "youtu.be", "vimeo.com")


class MastodonApi:
    def __init__(self, world: World) -> None:
        self.world = world
        self.instances = {i.name: i for i in world.scenario.instances}
        self.numbers = {i.name: n for n, i in enumerate(world.scenario.instances)}
        self.limit = RateLimit(300, 300, world.clock)
        self.streaming: MastodonStreaming | None = None  # set by the app, which owns the stop signal

    # ------------------------------------------------------------ identity

    def domain(self, inst: str) -> str:
        spec = self.instances[inst]
        return spec.domain or f"{spec.name}.social.test"

    def home(self, person: Person) -> str:
        return person.mastodon_instance

    def present_on(self, p: ScenarioPost) -> list[str]:
        """Instances that know this status (its author's home first)."""
        out = [self.home(self.world.author(p))]
        out += [i for i in p.instances if i not in out]
        return out

    def status_id(self, p: ScenarioPost, inst: str) -> str:
        return ids.mastodon_id(p.at, self.world.seq[p.id], self.numbers[inst])

    def account_id(self, person: Person, inst: str) -> str:
        return str(ids.number("mastodon-account", inst, person.key, digits=18))

    def username(self, person: Person) -> str:
        return person.handle or person.key

    def uri(self, p: ScenarioPost, base: str) -> str:
        """The global identity of a status (ActivityPub id on its home instance)."""
        person = self.world.author(p)
        home = self.home(person)
        tail = "/activity" if p.repost_of else ""
        return f"{base}/mastodon/{home}/users/{self.username(person)}/statuses/{self.status_id(p, home)}{tail}"

    def account(self, person: Person, inst: str, base: str) -> dict[str, Any]:
        home = self.home(person)
        name = self.username(person)
        home_base = f"{base}/mastodon/{home}"
        avatar = avatar_url(base, person)
        count = sum(1 for p in self.world.scenario.posts if p.platform == "mastodon" and p.author == person.key)
        return {
            "id": self.account_id(person, inst),
            "username": name,
            "acct": name if inst == home else f"{name}@{self.domain(home)}",
            "display_name": person.name,
            "locked": False,
            "bot": person.bot,
            "discoverable": True,
            "indexable": True,
            "group": False,
            "created_at": "2022-11-01T00:00:00.000Z",
            "note": "",
            "url": f"{home_base}/@{name}",
            "uri": f"{home_base}/users/{name}",
            "avatar": avatar,
            "avatar_static": avatar,
            "header": f"{base}/media/img/header-{quote(person.key, safe='')}/1500x500.jpg",
            "header_static": f"{base}/media/img/header-{quote(person.key, safe='')}/1500x500.jpg",
            "followers_count": 42,
            "following_count": 17,
            "statuses_count": count,
            "last_status_at": None,
            "hide_collections": False,
            "emojis": [],
            "fields": [],
        }

    # ------------------------------------------------------------ status JSON

    def status(self, p: ScenarioPost, inst: str, base: str, now: datetime) -> dict[str, Any]:
        w = self.world
        person = w.author(p)
        home = self.home(person)
        home_base = f"{base}/mastodon/{home}"
        inst_base = f"{base}/mastodon/{inst}"
        local = self.status_id(p, inst)
        uri = self.uri(p, base)
        common: dict[str, Any] = {
            "id": local,
            "created_at": iso_ms(w.created_at(p)),
            "in_reply_to_id": None,
            "in_reply_to_account_id": None,
            "sensitive": False,
            "spoiler_text": "",
            "visibility": p.visibility,
            "language": None,
            "uri": uri,
            "url": uri,
            "replies_count": 0,
            "reblogs_count": 0,
            "favourites_count": 0,
            "quotes_count": 0,
            "edited_at": None,
            "content": "",
            "reblog": None,
            "account": self.account(person, inst, base),
            "media_attachments": [],
            "mentions": [],
            "tags": [],
            "emojis": [],
            "card": None,
            "poll": None,
        }
        if p.repost_of is not None:
            common["reblog"] = self.status(w.scenario.post(p.repost_of), inst, base, now)
            if home == inst:
                common["application"] = {"name": "Web", "website": None}
            return common
        text = w.text(p, now)
        segs = segments(text)

        def mention(name: str) -> tuple[str, str] | None:
            other = w.people.get(name)
            if other is None:
                return None
            return self.username(other), f"{base}/mastodon/{self.home(other)}/@{self.username(other)}"

        edited = w.edited_at(p, now)
        common.update(
            url=f"{home_base}/@{self.username(person)}/{self.status_id(p, home)}",
            sensitive=p.sensitive or bool(p.content_warning),
            spoiler_text=p.content_warning,
            language=p.language,
            replies_count=w.replies_to(p, now),
            reblogs_count=w.reposts_of(p, now),
            favourites_count=p.likes,
            quotes_count=w.quotes_of(p, now),
            edited_at=iso_ms(edited) if edited else None,
            content=mastodon_html(segs, lambda t: f"{home_base}/tags/{t.lower()}", mention),
        )
        if p.reply_to is not None:
            parent = w.scenario.post(p.reply_to)
            common["in_reply_to_id"] = self.status_id(parent, inst)
            common["in_reply_to_account_id"] = self.account_id(w.author(parent), inst)
        mentioned = [w.people[s.value] for s in segs if s.kind == "mention" and s.value in w.people]
        common["mentions"] = [
            {"id": self.account_id(m, inst), "username": self.username(m),
             "url": f"{base}/mastodon/{self.home(m)}/@{self.username(m)}",
             "acct": self.username(m) if self.home(m) == inst else f"{self.username(m)}@{self.domain(self.home(m))}"}
            for m in mentioned
        ]
        seen: list[str] = []
        for s in segs:
            if s.kind == "tag" and s.value.lower() not in seen:
                seen.append(s.value.lower())
        common["tags"] = [{"name": t, "url": f"{inst_base}/tags/{quote(t)}"} for t in seen]
        common["media_attachments"] = self._media(p, local, home != inst, base)
        links = urls_of(text)
        if links:
            common["card"] = self._card(links[0], p, base)
        if p.quote_of is not None:
            target = w.scenario.post(p.quote_of)
            if w.is_visible(target, now):
                common["quote"] = {"state": "accepted", "quoted_status": self.status(target, inst, base, now)}
            else:
                common["quote"] = {"state": "deleted", "quoted_status": None}
        if home == inst:
            common["application"] = {"name": "Web", "website": None}
        return common

    def _media(self, p: ScenarioPost, local: str, remote: bool, base: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for ref in self.world.media(p):
            spec = ref.spec
            tw, th = ref.thumb_size(400)
            original: dict[str, Any] = {"width": spec.width, "height": spec.height,
                                        "size": f"{spec.width}x{spec.height}",
                                        "aspect": round(spec.width / spec.height, 6)}
            if spec.kind == "video":
                url = ref.video_url(base)
                original.update(frame_rate="30/1", duration=spec.duration, bitrate=1_500_000)
            else:
                url = ref.photo_url(base)
            out.append({
                "id": str(int(local) + 100 + ref.index),
                "type": "video" if spec.kind == "video" else "image",
                "url": url,
                "preview_url": ref.thumb_url(base, 400),
                "remote_url": url if remote else None,
                "preview_remote_url": None,
                "text_url": None,
                "meta": {"original": original,
                         "small": {"width": tw, "height": th, "size": f"{tw}x{th}", "aspect": round(tw / th, 6)}},
                "description": spec.alt or None,
                "blurhash": None,
            })
        return out

    def _card(self, url: str, p: ScenarioPost, base: str) -> dict[str, Any]:
        host = url.split("/")[2] if url.count("/") >= 2 else url
        host = host.removeprefix("www.")
        video = host in VIDEO_HOSTS
        embed = ""
        if video:
            embed = (f'<iframe width="480" height="270" src="{url}" frameborder="0" '
                     'allowfullscreen="allowfullscreen"></iframe>')
        return {
            "url": url,
            "title": p.link_title or host,
            "description": "",
            "language": None,
            "type": "video" if video else "link",
            "author_name": "",
            "author_url": "",
            "provider_name": "YouTube" if "youtu" in host else ("Vimeo" if "vimeo" in host else ""),
            "provider_url": "",
            "html": embed,
            "width": 480 if video else 0,
            "height": 270 if video else 0,
            "image": f"{base}/media/img/card-{ids.urlsafe(10, 'card', url)}/480x270.jpg",
            "image_description": "",
            "embed_url": "",
            "blurhash": None,
            "published_at": None,
            "authors": [],
        }

    # ------------------------------------------------------------ HTTP

    def handle(self, req: Request, sub: str) -> Response:
        inst_name, _, rest = sub.lstrip("/").partition("/")
        rest = "/" + rest
        spec = self.instances.get(inst_name)
        if spec is None:
            return json_response({"error": "Record not found"}, 404)
        quota = self.limit.hit(inst_name)
        headers = rate_headers("mastodon", quota.limit, quota.remaining, quota.reset)
        if not quota.allowed:
            return json_response({"error": "Too many requests"}, 429, headers)
        denied = self._check_auth(req, spec)
        if denied is not None:
            denied.headers += headers
            return denied
        resp = self._route(req, spec, rest)
        resp.headers += headers
        return resp

    def _check_auth(self, req: Request, spec: InstanceSpec) -> Response | None:
        token = req.bearer()
        if token is None:
            if spec.require_auth:
                return json_response({"error": "This method requires an authenticated user"}, 401)
            return None
        if spec.token and token != spec.token:
            return json_response({"error": "The access token is invalid"}, 401)
        return None

    def _route(self, req: Request, spec: InstanceSpec, rest: str) -> Response:
        if req.method != "GET":
            return json_response({"error": "Record not found"}, 404)
        parts = [p for p in rest.split("/") if p]
        inst = spec.name
        if parts[:4] == ["api", "v1", "streaming", "hashtag"] and len(parts) <= 5 and self.streaming is not None:
            if len(parts) == 5 and parts[4] != "local":
                return json_response({"error": "Unknown stream type"}, 400)
            return self.streaming.hashtag(req, inst, local=len(parts) == 5)
        if parts[:4] == ["api", "v1", "timelines", "tag"] and len(parts) == 5:
            return self._timeline(req, inst, tag=parts[4])
        if parts == ["api", "v1", "timelines", "public"]:
            return self._timeline(req, inst, tag=None)
        if parts[:3] == ["api", "v1", "statuses"] and len(parts) == 4:
            return self._one_status(req, inst, parts[3])
        if parts == ["api", "v1", "accounts", "lookup"]:
            return self._lookup(req, inst)
        if parts[:3] == ["api", "v1", "accounts"] and len(parts) == 5 and parts[4] == "statuses":
            return self._account_statuses(req, inst, parts[3])
        return json_response({"error": "Record not found"}, 404)

    def _on(self, inst: str, now: datetime) -> list[ScenarioPost]:
        """Visible statuses this instance knows, newest first (by local id)."""
        posts = [p for p in self.world.visible("mastodon", now) if inst in self.present_on(p)]
        posts = [
            p for p in posts
            if p.repost_of is None or inst in self.present_on(self.world.scenario.post(p.repost_of))
        ]
        return sorted(posts, key=lambda p: int(self.status_id(p, inst)), reverse=True)

    def _timeline(self, req: Request, inst: str, tag: str | None) -> Response:
        w = self.world
        now = w.now()
        any_tags = {t.lower() for t in _multi(req, "any")}
        all_tags = {t.lower() for t in _multi(req, "all")}
        none_tags = {t.lower() for t in _multi(req, "none")}
        local, remote, only_media = _flag(req, "local"), _flag(req, "remote"), _flag(req, "only_media")
        selected: list[ScenarioPost] = []
        for p in self._on(inst, now):
            if p.repost_of is not None or p.visibility != "public":
                continue
            is_local = self.home(w.author(p)) == inst
            if (local and not is_local) or (remote and is_local):
                continue
            if only_media and not p.media:
                continue
            if tag is not None:
                tags = {s.value.lower() for s in segments(w.text(p, now)) if s.kind == "tag"}
                if not ({tag.lower()} | any_tags) & tags:
                    continue
                if not all_tags <= tags or none_tags & tags:
                    continue
            selected.append(p)
        keep = {k: v for k, v in req.query.items()
                if k in ("local", "remote", "only_media", "any[]", "all[]", "none[]", "limit")}
        path = f"/api/v1/timelines/tag/{quote(tag)}" if tag is not None else "/api/v1/timelines/public"
        return self._page(req, inst, selected, path, keep, now)

    def _page(
        self, req: Request, inst: str, selected: list[ScenarioPost], path: str, keep: dict[str, list[str]],
        now: datetime,
    ) -> Response:
        limit = _limit(req)
        max_id, since_id, min_id = _num(req, "max_id"), _num(req, "since_id"), _num(req, "min_id")
        rows = [(int(self.status_id(p, inst)), p) for p in selected]
        if max_id is not None:
            rows = [r for r in rows if r[0] < max_id]
        if since_id is not None:
            rows = [r for r in rows if r[0] > since_id]
        # min_id: the page just above min_id (oldest first), still returned newest first
        rows = [r for r in rows if r[0] > min_id][-limit:] if min_id is not None else rows[:limit]
        body = [self.status(p, inst, req.base, now) for _, p in rows]
        resp = json_response(body)
        links = []
        url = f"{req.base}/mastodon/{inst}{path}"
        params = [(k, v) for k, vs in keep.items() for v in vs]
        if rows and len(rows) == limit:
            links.append(f'<{url}?{urlencode([*params, ("max_id", str(rows[-1][0]))])}>; rel="next"')
        if rows:
            links.append(f'<{url}?{urlencode([*params, ("min_id", str(rows[0][0]))])}>; rel="prev"')
        if links:
            resp.headers.append(("Link", ", ".join(links)))
        return resp

    def _one_status(self, req: Request, inst: str, status_id: str) -> Response:
        now = self.world.now()
        for p in self._on(inst, now):
            if self.status_id(p, inst) == status_id and p.visibility in ("public", "unlisted"):
                return json_response(self.status(p, inst, req.base, now))
        return json_response({"error": "Record not found"}, 404)

    def _person_by_acct(self, inst: str, acct: str) -> Person | None:
        acct = acct.lstrip("@")
        name, _, domain = acct.partition("@")
        for person in self.world.scenario.people:
            home = self.home(person)
            if self.username(person).lower() != name.lower():
                continue
            if (not domain and home == inst) or domain.lower() == self.domain(home).lower():
                return person
        return None

    def _lookup(self, req: Request, inst: str) -> Response:
        person = self._person_by_acct(inst, req.arg("acct") or "")
        if person is None:
            return json_response({"error": "Record not found"}, 404)
        return json_response(self.account(person, inst, req.base))

    def _account_statuses(self, req: Request, inst: str, account_id: str) -> Response:
        w = self.world
        now = w.now()
        person = next((x for x in w.scenario.people if self.account_id(x, inst) == account_id), None)
        if person is None:
            return json_response({"error": "Record not found"}, 404)
        tagged = (req.arg("tagged") or "").lower()
        selected = []
        for p in self._on(inst, now):
            if p.author != person.key or p.visibility not in ("public", "unlisted"):
                continue
            if _flag(req, "exclude_reblogs") and p.repost_of:
                continue
            if _flag(req, "exclude_replies") and p.reply_to:
                continue
            src = w.scenario.post(p.repost_of) if p.repost_of else p
            if _flag(req, "only_media") and not src.media:
                continue
            if tagged and tagged not in {s.value.lower() for s in segments(w.text(src, now)) if s.kind == "tag"}:
                continue
            selected.append(p)
        keep = {k: v for k, v in req.query.items()
                if k in ("limit", "exclude_reblogs", "exclude_replies", "only_media", "tagged")}
        return self._page(req, inst, selected, f"/api/v1/accounts/{account_id}/statuses", keep, now)


def _multi(req: Request, name: str) -> list[str]:
    out = req.args(name + "[]") + req.args(name)
    return [v for raw in out for v in raw.split(",") if v][:4]


def _flag(req: Request, name: str) -> bool:
    return (req.arg(name) or "").lower() in ("true", "1", "on", "yes")


def _limit(req: Request) -> int:
    raw = req.arg("limit")
    if raw is None or not raw.strip().lstrip("-").isdigit():
        return DEFAULT_LIMIT
    n = int(raw)
    return DEFAULT_LIMIT if n <= 0 else min(n, MAX_LIMIT)


def _num(req: Request, name: str) -> int | None:
    raw = req.arg(name)
    return int(raw) if raw and raw.isdigit() else None
