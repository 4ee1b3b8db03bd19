"""Bluesky fake (a PDS proxying to the AppView), under /bluesky.

XRPC methods: com.atproto.server.createSession / refreshSession / getSession,
app.bsky.feed.searchPosts, app.bsky.feed.getPosts. Sessions use JWT-shaped
tokens (base64url header.payload.signature with iat/exp) signed by the
sandbox; searchPosts needs the access token. Facet offsets are UTF-8 bytes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
from datetime import UTC, datetime
from typing import Any

from aggregator.sandbox import ids
from aggregator.sandbox.faults import rate_headers
from aggregator.sandbox.http import Request, Response, json_response
from aggregator.sandbox.limits import RateLimit
from aggregator.sandbox.scenario import ScenarioPost
from aggregator.sandbox.text import render_plain, segments, urls_of
from aggregator.sandbox.world import MediaRef, World, avatar_url, iso_ms

PDS_DID = "did:web:bsky.social"
LIKELY_VIDEO = ("youtube.com", "youtu.be", "vimeo.com")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def xrpc_error(status: int, error: str, message: str, headers: list[tuple[str, str]] | None = None) -> Response:
    return json_response({"error": error, "message": message}, status, headers)


class BlueskyApi:
    def __init__(self, world: World) -> None:
        self.world = world
        self.secret = hashlib.sha256(("jwt:" + world.scenario.name).encode()).digest()
        self.login_limit = RateLimit(30, 300, world.clock)
        self.api_limit = RateLimit(3000, 300, world.clock)
        self._lock = threading.Lock()
        self._revoked: set[str] = set()
        self._issued = 0
        self.sessions_created = 0  # createSession calls that succeeded (tests: "logs in once")

    # ------------------------------------------------------------ identity

    def did_of(self, key: str) -> str:
        return ids.did(self.world.bluesky_handle(self.world.people[key]))

    def rkey(self, p: ScenarioPost) -> str:
        return ids.tid(p.at, self.world.seq[p.id])

    def uri(self, p: ScenarioPost) -> str:
        return f"at://{self.did_of(p.author)}/app.bsky.feed.post/{self.rkey(p)}"

    def cid(self, p: ScenarioPost, now: datetime) -> str:
        return ids.cid(self.uri(p), self.world.text(p, now))

    def web_url(self, p: ScenarioPost) -> str:
        return f"https://bsky.app/profile/{self.world.bluesky_handle(self.world.author(p))}/post/{self.rkey(p)}"

    # ------------------------------------------------------------ tokens

    def _token(self, kind: str, did: str, ttl: float) -> str:
        now = int(self.world.now().timestamp())
        with self._lock:
            self._issued += 1
            n = self._issued
        header = {"typ": "at+jwt" if kind == "access" else "refresh+jwt", "alg": "ES256K"}
        payload: dict[str, Any] = {
            "scope": "com.atproto.appPass" if kind == "access" else "com.atproto.refresh",
            "sub": did, "aud": PDS_DID, "iat": now, "exp": now + int(ttl),
        }
        if kind == "refresh":
            payload["jti"] = _b64(hashlib.sha256(f"{did}:{n}:{now}".encode()).digest())[:43]
        signing = _b64(json.dumps(header, separators=(",", ":")).encode()) + "." + _b64(
            json.dumps(payload, separators=(",", ":")).encode())
        sig = hmac.new(self.secret, signing.encode(), hashlib.sha512).digest()
        return signing + "." + _b64(sig)

    def _verify(self, token: str, scope: str) -> tuple[dict[str, Any] | None, Response | None]:
        parts = token.split(".")
        try:
            if len(parts) != 3:
                raise ValueError
            sig = hmac.new(self.secret, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha512).digest()
            if not hmac.compare_digest(sig, _unb64(parts[2])):
                raise ValueError
            payload: dict[str, Any] = json.loads(_unb64(parts[1]))
        except (ValueError, json.JSONDecodeError):
            return None, xrpc_error(401, "InvalidToken", "Token could not be verified")
        if payload.get("scope") != scope:
            return None, xrpc_error(400, "InvalidToken", "Bad token scope")
        if int(payload.get("exp", 0)) <= int(self.world.now().timestamp()):
            return None, xrpc_error(400, "ExpiredToken", "Token has expired")
        if scope == "com.atproto.refresh":
            with self._lock:
                if payload.get("jti") in self._revoked:
                    return None, xrpc_error(400, "ExpiredToken", "Token has been revoked")
        return payload, None

    def _session(self, did: str, handle: str) -> dict[str, Any]:
        auth = self.world.scenario.auth
        return {
            "did": did, "handle": handle, "email": f"{handle.split('.')[0]}@example.org", "emailConfirmed": True,
            "emailAuthFactor": False, "accessJwt": self._token("access", did, auth.bluesky_access_ttl),
            "refreshJwt": self._token("refresh", did, auth.bluesky_refresh_ttl), "active": True,
        }

    # ------------------------------------------------------------ HTTP

    def handle(self, req: Request, sub: str) -> Response:
        if not sub.startswith("/xrpc/"):
            return xrpc_error(404, "NotFound", "Not Found")
        method = sub.removeprefix("/xrpc/")
        if method == "com.atproto.server.createSession":
            return self._create_session(req)
        if method == "com.atproto.server.refreshSession":
            return self._refresh_session(req)
        if method == "com.atproto.identity.resolveHandle":  # public: no session needed
            handle = (req.arg("handle") or "").lower()
            for person in self.world.scenario.people:
                if self.world.bluesky_handle(person).lower() == handle:
                    return json_response({"did": self.did_of(person.key)})
            return xrpc_error(400, "InvalidRequest", "Unable to resolve handle")
        procedures = {"com.atproto.server.getSession", "app.bsky.feed.searchPosts", "app.bsky.feed.getPosts"}
        if method not in procedures:
            return xrpc_error(501, "MethodNotImplemented", "Method Not Implemented")
        if req.method not in ("GET", "HEAD"):
            return xrpc_error(400, "InvalidRequest", "Incorrect HTTP method (POST) expected GET")
        token = req.bearer()
        if token is None:
            return xrpc_error(401, "AuthMissing", "Authentication Required")
        payload, denied = self._verify(token, "com.atproto.appPass")
        if denied is not None or payload is None:
            return denied or xrpc_error(401, "InvalidToken", "Token could not be verified")
        quota = self.api_limit.hit(str(payload["sub"]))
        headers = rate_headers("bluesky", quota.limit, quota.remaining, quota.reset)
        if not quota.allowed:
            return xrpc_error(429, "RateLimitExceeded", "Rate Limit Exceeded", headers)
        if method == "com.atproto.server.getSession":
            did = str(payload["sub"])
            resp = json_response({"did": did, "handle": self._handle_for(did), "active": True})
        elif method == "app.bsky.feed.getPosts":
            resp = self._get_posts(req)
        else:
            resp = self._search(req)
        resp.headers += headers
        return resp

    def _handle_for(self, did: str) -> str:
        ident = self.world.scenario.auth.bluesky_identifier
        return ident if ids.did(ident) == did else "handle.invalid"

    def _create_session(self, req: Request) -> Response:
        if req.method != "POST":
            return xrpc_error(400, "InvalidRequest", "Incorrect HTTP method (GET) expected POST")
        try:
            body = req.json()
        except (ValueError, UnicodeDecodeError):
            return xrpc_error(400, "InvalidRequest", "Request body is not valid JSON")
        if not isinstance(body, dict):
            return xrpc_error(400, "InvalidRequest", "Input must be an object")
        for prop in ("identifier", "password"):
            if not isinstance(body.get(prop), str):
                return xrpc_error(400, "InvalidRequest", f'Input must have the property "{prop}"')
        ident = body["identifier"].strip().lower().lstrip("@")
        quota = self.login_limit.hit(ident)
        headers = rate_headers("bluesky", quota.limit, quota.remaining, quota.reset)
        headers[-1] = ("ratelimit-policy", "30;w=300")
        if not quota.allowed:
            return xrpc_error(429, "RateLimitExceeded", "Rate Limit Exceeded", headers)
        auth = self.world.scenario.auth
        handle = auth.bluesky_identifier.lower()
        if ident not in (handle, ids.did(handle)) or body["password"] != auth.bluesky_password:
            return xrpc_error(401, "AuthenticationRequired", "Invalid identifier or password", headers)
        with self._lock:
            self.sessions_created += 1
        return json_response(self._session(ids.did(handle), handle), headers=headers)

    def _refresh_session(self, req: Request) -> Response:
        if req.method != "POST":
            return xrpc_error(400, "InvalidRequest", "Incorrect HTTP method (GET) expected POST")
        token = req.bearer()
        if token is None:
            return xrpc_error(401, "AuthMissing", "Authentication Required")
        payload, denied = self._verify(token, "com.atproto.refresh")
        if denied is not None or payload is None:
            return denied or xrpc_error(401, "InvalidToken", "Token could not be verified")
        with self._lock:
            self._revoked.add(str(payload.get("jti")))
        did = str(payload["sub"])
        session = self._session(did, self._handle_for(did))
        for k in ("email", "emailConfirmed", "emailAuthFactor"):
            session.pop(k)
        return json_response(session)

    # ------------------------------------------------------------ search

    def _search(self, req: Request) -> Response:
        w = self.world
        now = w.now()
        q = req.arg("q")
        if q is None:
            return xrpc_error(400, "InvalidRequest", 'Error: Params must have the property "q"')
        raw_limit = req.arg("limit", "25") or "25"
        if not re.fullmatch(r"-?\d+", raw_limit):
            return xrpc_error(400, "InvalidRequest", "Error: limit must be an integer")
        limit = int(raw_limit)
        if limit < 1:
            return xrpc_error(400, "InvalidRequest", "Error: limit must be >= 1")
        if limit > 100:
            return xrpc_error(400, "InvalidRequest", "Error: limit must be <= 100")
        cursor = req.arg("cursor")
        if cursor is not None and not cursor.isdigit():
            return xrpc_error(400, "InvalidRequest", "Error: invalid cursor")
        try:
            since = _when(req.arg("since"))
            until = _when(req.arg("until"))
        except ValueError:
            return xrpc_error(400, "InvalidRequest", "Error: since/until must be a valid datetime")
        words: list[str] = []
        phrases: list[str] = []
        excluded: list[str] = []
        tags = [t.lstrip("#").lower() for t in req.args("tag")]
        author = (req.arg("author") or "").lower().lstrip("@")
        lang = (req.arg("lang") or "").lower()
        mentions = (req.arg("mentions") or "").lower().lstrip("@")
        domain = (req.arg("domain") or "").lower()
        for tok in re.findall(r'-?"[^"]*"|\S+', q):
            low = tok.lower()
            if low.startswith('"') or low.startswith('-"'):
                (excluded if low.startswith("-") else phrases).append(low.strip('-"'))
            elif low.startswith("#") and len(low) > 1:
                tags.append(low[1:])
            elif low.startswith("-") and len(low) > 1:
                excluded.append(low[1:])
            elif low.startswith("from:"):
                author = low[5:].lstrip("@")
            elif low.startswith("lang:"):
                lang = low[5:]
            elif low.startswith("mentions:"):
                mentions = low[9:].lstrip("@")
            elif low.startswith("domain:"):
                domain = low[7:]
            elif low.startswith("since:"):
                since = _when(low[6:])
            elif low.startswith("until:"):
                until = _when(low[6:])
            else:
                words.append(low)
        matched: list[ScenarioPost] = []
        for p in w.visible("bluesky", now):
            if p.repost_of is not None:
                continue  # a repost is not a post: search never returns it
            text = w.text(p, now)
            segs = segments(text)
            low = text.lower()
            post_words = set(re.findall(r"\w+", low))
            post_tags = {s.value.lower() for s in segs if s.kind == "tag"}
            person = w.author(p)
            if not all(t in post_tags for t in tags):
                continue
            if not all(wd in post_words or wd in low for wd in words) or not all(ph in low for ph in phrases):
                continue
            if any(x in post_words or x in post_tags for x in excluded):
                continue
            if author and author not in (w.bluesky_handle(person).lower(), self.did_of(p.author)):
                continue
            if lang and (p.language or "").lower() != lang:
                continue
            if mentions and not any(
                s.kind == "mention" and s.value in w.people
                and mentions in (w.bluesky_handle(w.people[s.value]).lower(), self.did_of(s.value))
                for s in segs
            ):
                continue
            if domain and not any(domain in u.lower().split("/")[2] for u in urls_of(text) if u.count("/") >= 2):
                continue
            created = w.created_at(p)
            if (since and created < since) or (until and created >= until):
                continue
            matched.append(p)
        if (req.arg("sort") or "latest") == "top":
            matched.sort(key=lambda p: p.likes + 2 * w.reposts_of(p, now), reverse=True)
        start = int(cursor) if cursor else 0
        page = matched[start : start + limit]
        doc: dict[str, Any] = {"posts": [self.post_view(p, req.base, now) for p in page]}
        if start + limit < len(matched):
            doc["cursor"] = str(start + limit)
        doc["hitsTotal"] = len(matched)
        return json_response(doc)

    def _get_posts(self, req: Request) -> Response:
        now = self.world.now()
        uris = req.args("uris")
        if len(uris) > 25:
            return xrpc_error(400, "InvalidRequest", "Error: uris must not have more than 25 elements")
        by_uri = {self.uri(p): p for p in self.world.scenario.posts if p.platform == "bluesky" and not p.repost_of}
        posts = [by_uri[u] for u in uris if u in by_uri and self.world.is_visible(by_uri[u], now)]
        return json_response({"posts": [self.post_view(p, req.base, now) for p in posts]})

    # ------------------------------------------------------------ views

    def author_view(self, key: str, base: str) -> dict[str, Any]:
        person = self.world.people[key]
        return {
            "did": self.did_of(key), "handle": self.world.bluesky_handle(person), "displayName": person.name,
            "avatar": avatar_url(base, person), "associated": {"chat": {"allowIncoming": "following"}},
            "labels": [], "createdAt": "2023-05-01T10:00:00.000Z",
        }

    def record(self, p: ScenarioPost, base: str, now: datetime) -> dict[str, Any]:
        w = self.world
        text = w.text(p, now)

        def mention(name: str) -> str | None:
            person = w.people.get(name)
            return w.bluesky_handle(person) if person else None

        rendered, spans = render_plain(segments(text), mention)
        rec: dict[str, Any] = {"$type": "app.bsky.feed.post", "createdAt": iso_ms(w.created_at(p)), "text": rendered}
        if p.language:
            rec["langs"] = [p.language]
        facets = []
        for s in spans:
            if s.kind == "url":
                feature = {"$type": "app.bsky.richtext.facet#link", "uri": s.value}
            elif s.kind == "tag":
                feature = {"$type": "app.bsky.richtext.facet#tag", "tag": s.value}
            else:
                feature = {"$type": "app.bsky.richtext.facet#mention", "did": self.did_of(s.value)}
            facets.append({"index": {"byteStart": s.byte_start, "byteEnd": s.byte_end}, "features": [feature]})
        if facets:
            rec["facets"] = facets
        if p.reply_to is not None:
            parent = w.scenario.post(p.reply_to)
            root = parent
            while root.reply_to is not None:
                root = w.scenario.post(root.reply_to)
            rec["reply"] = {"root": {"uri": self.uri(root), "cid": self.cid(root, now)},
                            "parent": {"uri": self.uri(parent), "cid": self.cid(parent, now)}}
        embed = self._embed_record(p, base, now)
        if embed is not None:
            rec["embed"] = embed
        if p.sensitive or p.content_warning:
            rec["labels"] = {"$type": "com.atproto.label.defs#selfLabels", "values": [{"val": "graphic-media"}]}
        return rec

    def _blob(self, ref: MediaRef, p: ScenarioPost) -> dict[str, Any]:
        mime = "video/mp4" if ref.spec.kind == "video" else "image/jpeg"
        return {"$type": "blob", "ref": {"$link": ids.blob_cid(p.id, ref.seed)}, "mimeType": mime,
                "size": ref.spec.width * ref.spec.height // 8}

    def _media_record(self, p: ScenarioPost) -> dict[str, Any] | None:
        refs = self.world.media(p)
        if not refs:
            return None
        if refs[0].spec.kind == "video":
            v = refs[0]
            out: dict[str, Any] = {"$type": "app.bsky.embed.video", "video": self._blob(v, p),
                                   "aspectRatio": {"width": v.spec.width, "height": v.spec.height}}
            if v.spec.alt:
                out["alt"] = v.spec.alt
            return out
        return {"$type": "app.bsky.embed.images", "images": [
            {"alt": r.spec.alt, "image": self._blob(r, p), "aspectRatio": {"width": r.spec.width,
                                                                           "height": r.spec.height}}
            for r in refs[:4] if r.spec.kind == "photo"
        ]}

    def _media_view(self, p: ScenarioPost, base: str) -> dict[str, Any] | None:
        refs = self.world.media(p)
        if not refs:
            return None
        if refs[0].spec.kind == "video":
            v = refs[0]
            out: dict[str, Any] = {
                "$type": "app.bsky.embed.video#view", "cid": ids.blob_cid(p.id, v.seed),
                "playlist": v.playlist_url(base), "thumbnail": v.poster_url(base),
                "aspectRatio": {"width": v.spec.width, "height": v.spec.height},
            }
            if v.spec.alt:
                out["alt"] = v.spec.alt
            return out
        return {"$type": "app.bsky.embed.images#view", "images": [
            {"thumb": r.thumb_url(base, 1000), "fullsize": r.photo_url(base), "alt": r.spec.alt,
             "aspectRatio": {"width": r.spec.width, "height": r.spec.height}}
            for r in refs[:4] if r.spec.kind == "photo"
        ]}

    def _external(self, p: ScenarioPost, now: datetime) -> dict[str, str] | None:
        links = urls_of(self.world.text(p, now))
        if not links:
            return None
        host = links[0].split("/")[2] if links[0].count("/") >= 2 else links[0]
        return {"uri": links[0], "title": p.link_title or host, "description": ""}

    def _embed_record(self, p: ScenarioPost, base: str, now: datetime) -> dict[str, Any] | None:
        media = self._media_record(p)
        if p.quote_of is not None:
            target = self.world.scenario.post(p.quote_of)
            strong = {"uri": self.uri(target), "cid": self.cid(target, now)}
            if media is None:
                return {"$type": "app.bsky.embed.record", "record": strong}
            return {"$type": "app.bsky.embed.recordWithMedia",
                    "record": {"$type": "app.bsky.embed.record", "record": strong}, "media": media}
        if media is not None:
            return media
        ext = self._external(p, now)
        if ext is not None:
            return {"$type": "app.bsky.embed.external", "external": ext}
        return None

    def _embed_view(self, p: ScenarioPost, base: str, now: datetime) -> dict[str, Any] | None:
        media = self._media_view(p, base)
        if p.quote_of is not None:
            target = self.world.scenario.post(p.quote_of)
            record_view = {"$type": "app.bsky.embed.record#view", "record": self._view_record(target, base, now)}
            if media is None:
                return record_view
            return {"$type": "app.bsky.embed.recordWithMedia#view", "record": record_view, "media": media}
        if media is not None:
            return media
        ext = self._external(p, now)
        if ext is not None:
            thumb = f"{base}/media/img/card-{ids.urlsafe(10, 'card', ext['uri'])}/480x270.jpg"
            return {"$type": "app.bsky.embed.external#view", "external": {**ext, "thumb": thumb}}
        return None

    def _view_record(self, p: ScenarioPost, base: str, now: datetime) -> dict[str, Any]:
        if not self.world.is_visible(p, now):
            return {"$type": "app.bsky.embed.record#viewNotFound", "uri": self.uri(p), "notFound": True}
        w = self.world
        out: dict[str, Any] = {
            "$type": "app.bsky.embed.record#viewRecord", "uri": self.uri(p), "cid": self.cid(p, now),
            "author": self.author_view(p.author, base), "value": self.record(p, base, now), "labels": [],
            "likeCount": p.likes, "replyCount": w.replies_to(p, now), "repostCount": w.reposts_of(p, now),
            "quoteCount": w.quotes_of(p, now), "indexedAt": iso_ms(w.created_at(p)),
        }
        view = self._embed_view(p, base, now)
        if view is not None:
            out["embeds"] = [view]
        return out

    def post_view(self, p: ScenarioPost, base: str, now: datetime) -> dict[str, Any]:
        w = self.world
        uri, cid = self.uri(p), self.cid(p, now)
        labels = []
        if p.sensitive or p.content_warning:
            labels.append({"src": self.did_of(p.author), "uri": uri, "cid": cid, "val": "graphic-media",
                           "cts": iso_ms(w.created_at(p))})
        out: dict[str, Any] = {
            "uri": uri, "cid": cid, "author": self.author_view(p.author, base), "record": self.record(p, base, now),
        }
        view = self._embed_view(p, base, now)
        if view is not None:
            out["embed"] = view
        out.update({
            "bookmarkCount": 0, "replyCount": w.replies_to(p, now), "repostCount": w.reposts_of(p, now),
            "likeCount": p.likes, "quoteCount": w.quotes_of(p, now), "indexedAt": iso_ms(w.created_at(p)),
            "viewer": {"bookmarked": False, "threadMuted": False, "embeddingDisabled": False}, "labels": labels,
        })
        return out


def _when(raw: str | None) -> datetime | None:
    if not raw:
        return None
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
        return datetime.fromisoformat(raw).replace(tzinfo=UTC)
    t = datetime.fromisoformat(raw.upper() if raw.endswith("z") else raw)
    return t if t.tzinfo else t.replace(tzinfo=UTC)

