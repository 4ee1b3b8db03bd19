"""X API v2 fake: GET /2/tweets/search/recent and GET /2/tweets (lookup), under /x.

Speaks the v2 wire format: default fields only unless `tweet.fields`,
`user.fields`, `media.fields` and `expansions` ask for more; `includes`;
`meta` with newest_id/oldest_id/result_count/next_token; the v2 error
documents (400 invalid request, 401 unauthorized, 429 with x-rate-limit-*).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from aggregator.sandbox import ids
from aggregator.sandbox.faults import rate_headers
from aggregator.sandbox.http import Request, Response, json_response
from aggregator.sandbox.limits import RateLimit
from aggregator.sandbox.scenario import ScenarioPost
from aggregator.sandbox.text import Segment, Span, render_plain, segments
from aggregator.sandbox.world import World, iso_ms

TWEET_FIELDS = {
    "article", "attachments", "author_id", "card_uri", "community_id", "context_annotations", "conversation_id",
    "created_at", "display_text_range", "edit_controls", "edit_history_tweet_ids", "entities", "geo", "id",
    "in_reply_to_user_id", "lang", "media_metadata", "non_public_metrics", "note_tweet", "organic_metrics",
    "possibly_sensitive", "promoted_metrics", "public_metrics", "referenced_tweets", "reply_settings", "scopes",
    "source", "text", "withheld",
}
USER_FIELDS = {
    "affiliation", "connection_status", "created_at", "description", "entities", "id", "location",
    "most_recent_tweet_id", "name", "pinned_tweet_id", "profile_banner_url", "profile_image_url", "protected",
    "public_metrics", "receives_your_dm", "subscription_type", "url", "username", "verified", "verified_type",
    "withheld",
}
MEDIA_FIELDS = {
    "alt_text", "duration_ms", "height", "media_key", "non_public_metrics", "organic_metrics", "preview_image_url",
    "promoted_metrics", "public_metrics", "type", "url", "variants", "width",
}
EXPANSIONS = {
    "article.cover_media", "article.media_entities", "attachments.media_keys", "attachments.media_source_tweet",
    "attachments.poll_ids", "author_id", "edit_history_tweet_ids", "entities.mentions.username", "geo.place_id",
    "in_reply_to_user_id", "entities.note.mentions.username", "referenced_tweets.id",
    "referenced_tweets.id.attachments.media_keys", "referenced_tweets.id.author_id",
}
SEARCH_PARAMS = {
    "query", "start_time", "end_time", "since_id", "until_id", "max_results", "next_token", "pagination_token",
    "sort_order", "expansions", "tweet.fields", "user.fields", "media.fields", "place.fields", "poll.fields",
}
LOOKUP_PARAMS = {"ids", "expansions", "tweet.fields", "user.fields", "media.fields", "place.fields", "poll.fields"}
_ID = re.compile(r"^[0-9]{1,19}$")


class XError(Exception):
    def __init__(self, param: str, value: str, message: str) -> None:
        super().__init__(message)
        self.param, self.value, self.message = param, value, message


def invalid_request(errors: list[XError]) -> Response:
    return json_response(
        {
            "errors": [{"parameters": {e.param: [e.value]}, "message": e.message} for e in errors],
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": "https://api.twitter.com/2/problems/invalid-request",
        },
        400,
    )


# ------------------------------------------------------------------ query language


@dataclass(frozen=True, slots=True)
class Facts:
    """What a query can test about one tweet."""

    words: frozenset[str]
    text: str  # lower-case, for phrases
    hashtags: frozenset[str]
    mentions: frozenset[str]
    username: str
    reply_to_username: str
    lang: str
    is_retweet: bool
    is_reply: bool
    is_quote: bool
    has_images: bool
    has_videos: bool
    has_links: bool


Node = tuple[Any, ...]
_TOKENS = re.compile(r'-?"[^"]*"|\(|\)|-\(|[^\s()"]+')


def parse_query(q: str) -> Node:
    tokens: list[str] = _TOKENS.findall(q)
    pos = 0

    def peek() -> str | None:
        return tokens[pos] if pos < len(tokens) else None

    def take() -> str:
        nonlocal pos
        pos += 1
        return tokens[pos - 1]

    def parse_or() -> Node:
        items = [parse_and()]
        while peek() == "OR":
            take()
            items.append(parse_and())
        return items[0] if len(items) == 1 else ("or", items)

    def parse_and() -> Node:
        items: list[Node] = []
        while (t := peek()) is not None and t not in (")", "OR"):
            items.append(parse_unary())
        if not items:
            raise ValueError("empty group or dangling OR")
        return items[0] if len(items) == 1 else ("and", items)

    def parse_unary() -> Node:
        t = take()
        if t in ("(", "-("):
            inner = parse_or()
            if peek() != ")":
                raise ValueError("missing closing parenthesis")
            take()
            return ("not", inner) if t == "-(" else inner
        if t.startswith("-") and len(t) > 1:
            return ("not", _term(t[1:]))
        return _term(t)

    node = parse_or()
    if pos != len(tokens):
        raise ValueError(f"unexpected {tokens[pos]!r}")
    return node


def _term(t: str) -> Node:
    if t.startswith('"') and t.endswith('"') and len(t) >= 2:
        return ("phrase", t[1:-1].lower())
    return ("term", t)


def _words(text: str) -> frozenset[str]:
    return frozenset(w.lower() for w in re.findall(r"[\w']+", text))


def matches(node: Node, f: Facts) -> bool:
    kind = node[0]
    if kind == "or":
        return any(matches(n, f) for n in node[1])
    if kind == "and":
        return all(matches(n, f) for n in node[1])
    if kind == "not":
        return not matches(node[1], f)
    if kind == "phrase":
        return node[1] in f.text
    t: str = node[1]
    low = t.lower()
    if low.startswith("#") and len(low) > 1:
        return low[1:] in f.hashtags
    if low.startswith("@") and len(low) > 1:
        return low[1:] in f.mentions
    op, sep, value = low.partition(":")
    if sep and value:
        if op == "from":
            return f.username == value.lstrip("@")
        if op == "to":
            return f.reply_to_username == value.lstrip("@")
        if op == "lang":
            return f.lang == value
        if op == "is":
            return {"retweet": f.is_retweet, "reply": f.is_reply, "quote": f.is_quote}.get(value, False)
        if op == "has":
            return {
                "media": f.has_images or f.has_videos, "images": f.has_images, "videos": f.has_videos,
                "video_link": f.has_videos, "links": f.has_links, "hashtags": bool(f.hashtags),
                "mentions": bool(f.mentions),
            }.get(value, False)
    return low in f.words or low in f.hashtags


# ------------------------------------------------------------------ the fake


@dataclass(frozen=True, slots=True)
class Rendered:
    text: str
    spans: list[Span]
    media_url: str | None  # the t.co of the media, appended
    quote_url: str | None  # the t.co of the quoted tweet's permalink, appended


class XApi:
    def __init__(self, world: World) -> None:
        self.world = world
        self.limit = RateLimit(450, 900, world.clock)

    # identity
    def tweet_id(self, p: ScenarioPost) -> str:
        return ids.snowflake(p.at, self.world.seq[p.id])

    def _post_by_id(self) -> dict[str, ScenarioPost]:
        return {self.tweet_id(p): p for p in self.world.scenario.posts if p.platform == "x"}

    def username(self, p: ScenarioPost) -> str:
        return self.world.x_username(self.world.author(p))

    def permalink(self, p: ScenarioPost) -> str:
        return f"https://x.com/{self.username(p)}/status/{self.tweet_id(p)}"

    def _mention(self, name: str) -> str | None:
        person = self.world.people.get(name)
        return self.world.x_username(person) if person else None

    def media_key(self, p: ScenarioPost, i: int) -> str:
        kind = p.media[i].kind
        return f"{'7' if kind == 'video' else '3'}_{int(self.tweet_id(p)) + i + 1}"

    # rendering
    def render(self, p: ScenarioPost) -> Rendered:
        w = self.world
        if p.repost_of is not None:
            orig = w.scenario.post(p.repost_of)
            base = self.render(orig)
            segs: list[Segment] = [Segment("text", "RT "), Segment("mention", orig.author), Segment("text", ": ")]
            segs += segments(w.text(orig))
            text, spans = render_plain(segs, self._mention, ids.tco)
            if base.quote_url:
                text += " " + base.quote_url
            if base.media_url:
                text += " " + base.media_url
            if len(text) > 140:
                text = text[:139] + "…"
                spans = [s for s in spans if s.end <= 139]
            return Rendered(text, spans, None, None)
        text, spans = render_plain(segments(w.text(p)), self._mention, ids.tco)
        quote_url = media_url = None
        if p.quote_of is not None:
            quote_url = ids.tco(self.permalink(w.scenario.post(p.quote_of)))
            text += " " + quote_url
        if p.media:
            media_url = ids.tco(f"{self.permalink(p)}/media")
            text += " " + media_url
        return Rendered(text, spans, media_url, quote_url)

    def _entities(self, p: ScenarioPost, r: Rendered) -> dict[str, Any]:
        ent: dict[str, list[dict[str, Any]]] = {}
        for s in r.spans:
            if s.kind == "tag":
                ent.setdefault("hashtags", []).append({"start": s.start, "end": s.end, "tag": s.value})
            elif s.kind == "mention":
                person = self.world.people[s.value]
                ent.setdefault("mentions", []).append({
                    "start": s.start, "end": s.end, "username": self.world.x_username(person),
                    "id": self.world.x_user_id(person),
                })
            elif s.kind == "url":
                ent.setdefault("urls", []).append(_url_entity(s.start, s.end, s.shown, s.value))
        if r.quote_url and p.quote_of is not None:
            start = r.text.rfind(r.quote_url)
            target = self.permalink(self.world.scenario.post(p.quote_of))
            ent.setdefault("urls", []).append(_url_entity(start, start + len(r.quote_url), r.quote_url, target))
        if r.media_url:
            start = r.text.rfind(r.media_url)
            kind = "video" if p.media[0].kind == "video" else "photo"
            ent.setdefault("urls", []).append({
                "start": start, "end": start + len(r.media_url), "url": r.media_url,
                "expanded_url": f"{self.permalink(p)}/{kind}/1",
                "display_url": "pic.x.com/" + r.media_url.rsplit("/", 1)[1], "media_key": self.media_key(p, 0),
            })
        return ent

    def tweet(self, p: ScenarioPost, fields: set[str], now: datetime) -> dict[str, Any]:
        w = self.world
        r = self.render(p)
        tid = self.tweet_id(p)
        out: dict[str, Any] = {"id": tid, "text": r.text, "edit_history_tweet_ids": [tid]}
        media_of = w.scenario.post(p.repost_of) if p.repost_of else p
        refs: list[dict[str, str]] = []
        if p.repost_of:
            refs.append({"type": "retweeted", "id": self.tweet_id(w.scenario.post(p.repost_of))})
        if p.quote_of:
            refs.append({"type": "quoted", "id": self.tweet_id(w.scenario.post(p.quote_of))})
        if p.reply_to:
            refs.append({"type": "replied_to", "id": self.tweet_id(w.scenario.post(p.reply_to))})
        if "author_id" in fields:
            out["author_id"] = w.x_user_id(w.author(p))
        if "created_at" in fields:
            out["created_at"] = iso_ms(w.created_at(p))
        if "conversation_id" in fields:
            root = p
            while root.reply_to:
                root = w.scenario.post(root.reply_to)
            out["conversation_id"] = self.tweet_id(root)
        if "in_reply_to_user_id" in fields and p.reply_to:
            out["in_reply_to_user_id"] = w.x_user_id(w.author(w.scenario.post(p.reply_to)))
        if "lang" in fields:
            out["lang"] = (media_of.language or "und")
        if "possibly_sensitive" in fields:
            out["possibly_sensitive"] = media_of.sensitive
        if "referenced_tweets" in fields and refs:
            out["referenced_tweets"] = refs
        if "attachments" in fields and media_of.media:
            out["attachments"] = {"media_keys": [self.media_key(media_of, i) for i in range(len(media_of.media))]}
        if "entities" in fields:
            ent = self._entities(p, r)
            if ent:
                out["entities"] = ent
        if "public_metrics" in fields:
            out["public_metrics"] = {
                "retweet_count": w.reposts_of(p, now), "reply_count": w.replies_to(p, now),
                "like_count": p.likes, "quote_count": w.quotes_of(p, now), "bookmark_count": 0,
                "impression_count": 0,
            }
        if "edit_controls" in fields:
            out["edit_controls"] = {"edits_remaining": 5, "is_edit_eligible": False,
                                    "editable_until": iso_ms(w.created_at(p) + timedelta(hours=1))}
        if "reply_settings" in fields:
            out["reply_settings"] = "everyone"
        return out

    def user(self, key: str, fields: set[str], base: str) -> dict[str, Any]:
        w = self.world
        person = w.people[key]
        out: dict[str, Any] = {"id": w.x_user_id(person), "name": person.name, "username": w.x_username(person)}
        if "profile_image_url" in fields:
            out["profile_image_url"] = f"{base}/media/avatar/{person.key}.png"
        if "verified" in fields:
            out["verified"] = False
        if "verified_type" in fields:
            out["verified_type"] = "none"
        if "protected" in fields:
            out["protected"] = False
        if "description" in fields:
            out["description"] = ""
        if "created_at" in fields:
            out["created_at"] = "2010-03-01T12:00:00.000Z"
        if "url" in fields:
            out["url"] = ""
        if "public_metrics" in fields:
            out["public_metrics"] = {"followers_count": 120, "following_count": 80, "tweet_count": 1500,
                                     "listed_count": 3, "like_count": 900, "media_count": 40}
        return out

    def media(self, p: ScenarioPost, i: int, fields: set[str], base: str) -> dict[str, Any]:
        ref = self.world.media(p)[i]
        spec = ref.spec
        out: dict[str, Any] = {"media_key": self.media_key(p, i), "type": spec.kind}
        if spec.kind == "photo" and "url" in fields:
            out["url"] = ref.photo_url(base)
        if spec.kind == "video":
            if "preview_image_url" in fields:
                out["preview_image_url"] = ref.poster_url(base)
            if "duration_ms" in fields:
                out["duration_ms"] = round(spec.duration * 1000)
            if "variants" in fields:
                out["variants"] = [
                    {"content_type": "application/x-mpegURL", "url": ref.playlist_url(base)},
                    {"bit_rate": 2176000, "content_type": "video/mp4", "url": ref.video_url(base)},
                ]
            if "public_metrics" in fields:
                out["public_metrics"] = {"view_count": 0}
        if "width" in fields:
            out["width"] = spec.width
        if "height" in fields:
            out["height"] = spec.height
        if "alt_text" in fields and spec.alt:
            out["alt_text"] = spec.alt
        return out

    # ------------------------------------------------------------ HTTP

    def handle(self, req: Request, sub: str) -> Response:
        token = req.bearer()
        expected = self.world.scenario.auth.x_bearer_token
        if token is None or (expected and token != expected):
            return json_response(
                {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}, 401
            )
        quota = self.limit.hit(token)
        headers = rate_headers("x", quota.limit, quota.remaining, quota.reset)
        if not quota.allowed:
            return json_response({"title": "Too Many Requests", "detail": "Too Many Requests",
                                  "type": "about:blank", "status": 429}, 429, headers)
        if req.method != "GET":
            return json_response({"title": "Not Found Error", "detail": "Not Found", "type": "about:blank",
                                  "status": 404}, 404, headers)
        if sub == "/2/tweets/search/recent":
            resp = self.search(req)
        elif sub == "/2/tweets":
            resp = self.lookup(req)
        else:
            resp = json_response({"errors": [{"message": "Sorry, that page does not exist", "code": 34}]}, 404)
        resp.headers += headers
        return resp

    def _fields(self, req: Request, errors: list[XError]) -> tuple[set[str], set[str], set[str], set[str]]:
        allowed_params = SEARCH_PARAMS if req.path.endswith("/search/recent") else LOOKUP_PARAMS
        for name in sorted(set(req.query) - allowed_params):
            errors.append(XError(name, req.arg(name) or "", f"The query parameter [{name}] is not one of "
                                                            f"[{','.join(sorted(allowed_params))}]"))
        def parse(name: str, allowed: set[str]) -> set[str]:
            raw = req.arg(name)
            if raw is None:
                return set()
            values = {v for v in raw.split(",") if v}
            for v in sorted(values - allowed):
                errors.append(XError(name, v, f"The `{name}` query parameter value [{v}] is not one of "
                                              f"[{','.join(sorted(allowed))}]"))
            return values & allowed

        return (parse("tweet.fields", TWEET_FIELDS), parse("user.fields", USER_FIELDS),
                parse("media.fields", MEDIA_FIELDS), parse("expansions", EXPANSIONS))

    def search(self, req: Request) -> Response:
        w = self.world
        now = w.now()
        errors: list[XError] = []
        q = req.arg("query") or ""
        node: Node | None = None
        if not q.strip():
            errors.append(XError("query", q, "The `query` query parameter can not be empty"))
        elif len(q) > 512:
            errors.append(XError("query", q, f"The `query` query parameter value [{q}] is too long (max 512)"))
        else:
            try:
                node = parse_query(q)
            except ValueError as exc:
                errors.append(XError("query", q, f"There were errors processing your request: {exc}"))
        raw_max = req.arg("max_results", "10") or "10"
        max_results = int(raw_max) if raw_max.isdigit() else -1
        if not 10 <= max_results <= 100:
            errors.append(XError("max_results", raw_max,
                                 f"The `max_results` query parameter value [{raw_max}] is not between 10 and 100"))
        since_id, until_id = req.arg("since_id"), req.arg("until_id")
        for name, value in (("since_id", since_id), ("until_id", until_id)):
            if value is not None and not _ID.match(value):
                errors.append(XError(name, value, f"The `{name}` query parameter value [{value}] does not match "
                                                  "^[0-9]{1,19}$"))
        start = _time_param(req, "start_time", errors)
        end = _time_param(req, "end_time", errors)
        if start and start < now - timedelta(days=7):
            errors.append(XError("start_time", req.arg("start_time") or "",
                                 f"Invalid 'start_time':'{req.arg('start_time')}'. 'start_time' must be on or after "
                                 f"{(now - timedelta(days=7)).strftime('%Y-%m-%dT%H:%MZ')}"))
        if end and end > now - timedelta(seconds=10):
            errors.append(XError("end_time", req.arg("end_time") or "",
                                 f"Invalid 'end_time':'{req.arg('end_time')}'. 'end_time' must be a minimum of 10 "
                                 "seconds prior to the request time."))
        if start and end and start >= end:
            errors.append(XError("start_time", req.arg("start_time") or "",
                                 "Invalid 'start_time'. 'start_time' must be before 'end_time'."))
        token = req.arg("next_token") or req.arg("pagination_token")
        token_id: int | None = None
        if token is not None:
            try:
                token_id = int(token.removeprefix("b26v89c19zqg8o3f"), 36)
            except ValueError:
                errors.append(XError("next_token", token, f"The `next_token` query parameter value [{token}] "
                                                          "is not valid"))
        tf, uf, mf, exp = self._fields(req, errors)
        if errors or node is None:
            return invalid_request(errors)
        matched: list[ScenarioPost] = []
        for p in w.visible("x", now):
            tid = int(self.tweet_id(p))
            if since_id is not None and tid <= int(since_id):
                continue
            if until_id is not None and tid >= int(until_id):
                continue
            if token_id is not None and tid >= token_id:
                continue
            created = w.created_at(p)
            if since_id is None and start is not None and created < start:
                continue
            if end is not None and created >= end:
                continue
            if matches(node, self._facts(p)):
                matched.append(p)
        page, more = matched[:max_results], len(matched) > max_results
        doc = self._document(page, tf, uf, mf, exp, req.base, now)
        meta: dict[str, Any] = {}
        if page:
            meta["newest_id"] = self.tweet_id(page[0])
            meta["oldest_id"] = self.tweet_id(page[-1])
        meta["result_count"] = len(page)
        if more:
            meta["next_token"] = "b26v89c19zqg8o3f" + _base36(int(self.tweet_id(page[-1])))
        doc["meta"] = meta
        return json_response(doc)

    def lookup(self, req: Request) -> Response:
        errors: list[XError] = []
        raw = req.arg("ids") or ""
        wanted = [v for v in raw.split(",") if v]
        if not wanted or len(wanted) > 100 or not all(_ID.match(v) for v in wanted):
            errors.append(XError("ids", raw, f"The `ids` query parameter value [{raw}] is not valid"))
        tf, uf, mf, exp = self._fields(req, errors)
        if errors:
            return invalid_request(errors)
        now = self.world.now()
        by_id = self._post_by_id()
        found = [by_id[v] for v in wanted if v in by_id and self.world.is_visible(by_id[v], now)]
        doc = self._document(found, tf, uf, mf, exp, req.base, now)
        missing = [v for v in wanted if v not in {self.tweet_id(p) for p in found}]
        if missing:
            doc.setdefault("errors", []).extend(_not_found(v, "ids") for v in missing)
        return json_response(doc)

    def _facts(self, p: ScenarioPost) -> Facts:
        w = self.world
        src = w.scenario.post(p.repost_of) if p.repost_of else p
        text = w.text(src)
        segs = segments(text)
        mentions = {self._mention(s.value) or s.value for s in segs if s.kind == "mention"}
        if p.repost_of:
            mentions.add(self.username(src))
            text = f"RT @{self.username(src)}: {text}"
        reply_user = self.username(w.scenario.post(p.reply_to)) if p.reply_to else ""
        return Facts(
            words=_words(text), text=text.lower(),
            hashtags=frozenset(s.value.lower() for s in segs if s.kind == "tag"),
            mentions=frozenset(m.lower() for m in mentions), username=self.username(p).lower(),
            reply_to_username=reply_user.lower(), lang=(src.language or "und").lower(),
            is_retweet=p.repost_of is not None, is_reply=p.reply_to is not None, is_quote=p.quote_of is not None,
            has_images=any(m.kind == "photo" for m in src.media), has_videos=any(m.kind == "video" for m in src.media),
            has_links=any(s.kind == "url" for s in segs) or p.quote_of is not None,
        )

    def _document(
        self, page: list[ScenarioPost], tf: set[str], uf: set[str], mf: set[str], exp: set[str], base: str,
        now: datetime,
    ) -> dict[str, Any]:
        w = self.world
        doc: dict[str, Any] = {}
        # an expansion brings the field it expands into the primary tweets (as the real API does)
        implied = {"author_id": "author_id", "attachments.media_keys": "attachments",
                   "referenced_tweets.id": "referenced_tweets", "in_reply_to_user_id": "in_reply_to_user_id"}
        tf = tf | {field for e, field in implied.items() if e in exp}
        if page:
            doc["data"] = [self.tweet(p, tf, now) for p in page]
        users: list[str] = []
        media: list[tuple[ScenarioPost, int]] = []
        tweets: list[ScenarioPost] = []
        errors: list[dict[str, Any]] = []

        def add_user(key: str) -> None:
            if key not in users:
                users.append(key)

        for p in page:
            if "author_id" in exp:
                add_user(p.author)
            if "in_reply_to_user_id" in exp and p.reply_to:
                add_user(w.scenario.post(p.reply_to).author)
            if "entities.mentions.username" in exp:
                for s in self.render(p).spans:
                    if s.kind == "mention":
                        add_user(s.value)
            src = w.scenario.post(p.repost_of) if p.repost_of else p
            if "attachments.media_keys" in exp:
                media += [(src, i) for i in range(len(src.media)) if (src, i) not in media]
            if "referenced_tweets.id" in exp:
                for ref in (p.repost_of, p.quote_of, p.reply_to):
                    if ref is None:
                        continue
                    target = w.scenario.post(ref)
                    if not w.is_visible(target, now):
                        errors.append(_not_found(self.tweet_id(target), "referenced_tweets.id"))
                        continue
                    if target not in tweets:
                        tweets.append(target)
                    if "referenced_tweets.id.author_id" in exp:
                        add_user(target.author)
                    if "referenced_tweets.id.attachments.media_keys" in exp:
                        media += [(target, i) for i in range(len(target.media)) if (target, i) not in media]
        includes: dict[str, Any] = {}
        if media:
            includes["media"] = [self.media(p, i, mf, base) for p, i in media]
        if users:
            includes["users"] = [self.user(k, uf, base) for k in users]
        if tweets:
            includes["tweets"] = [self.tweet(p, tf, now) for p in tweets]
        if includes:
            doc["includes"] = includes
        if errors:
            doc["errors"] = errors
        return doc


def _url_entity(start: int, end: int, tco: str, expanded: str) -> dict[str, Any]:
    display = re.sub(r"^https?://(www\.)?", "", expanded)
    if len(display) > 26:
        display = display[:25] + "…"
    return {"start": start, "end": end, "url": tco, "expanded_url": expanded, "display_url": display}


def _not_found(tweet_id: str, parameter: str) -> dict[str, Any]:
    return {
        "value": tweet_id, "detail": f"Could not find tweet with {parameter}: [{tweet_id}].",
        "title": "Not Found Error", "resource_type": "tweet", "parameter": parameter, "resource_id": tweet_id,
        "type": "https://api.twitter.com/2/problems/resource-not-found",
    }


def _time_param(req: Request, name: str, errors: list[XError]) -> datetime | None:
    raw = req.arg(name)
    if raw is None:
        return None
    if not re.match(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$", raw):
        errors.append(XError(name, raw, f"The `{name}` query parameter value [{raw}] is not a valid RFC3339 date"))
        return None
    return datetime.fromisoformat(raw)


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while n:
        n, r = divmod(n, 36)
        out = digits[r] + out
    return out or "0"
