"""X (Twitter): recent search through tweepy, routed and bounded by our adapter.

tweepy's host is fixed (https://api.twitter.com), so a BoundedAdapter is
mounted on `client.session` for that origin: it rewrites requests to the
configured base URL and applies our timeouts, deadline, body cap and
destination policy; every other URL on that session (a redirect elsewhere)
goes through a BoundedAdapter with the same policy too. tweepy
never sleeps (wait_on_rate_limit=False); a 429 becomes RateLimited at
`x-rate-limit-reset`.

Cursor: `position` is the newest tweet id seen (sent as `since_id`). Pages
(`next_token`) go from newest to older and are bounded per run (`max_pages`).
When a run ends with pages left (a first poll, a backlog), the cursor keeps
the paging state instead: `{"since": ..., "start": ..., "next": token,
"newest": id}` as JSON. The next run resumes that same query at the token;
only when the backlog is drained does `since_id` move to the newest id
reached, so no page is ever skipped.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import requests
import tweepy

from aggregator.pipeline.sanitise import Span, text_to_html
from aggregator.sources.base import AuthError, RateLimited, SourceContext, SourceError
from aggregator.sources.common import (
    Exclusions,
    Skips,
    arr,
    clamp_time,
    dedupe,
    id_newer,
    is_web_url,
    kind_of,
    max_pages,
    norm_tags,
    obj,
    opt_int,
    opt_str,
    parse_time,
    text_of,
)
from aggregator.sources.http import BoundedAdapter, HttpLimits, display_url, rate_limit_reset, request_budget
from aggregator.sources.video import with_videos
from aggregator.types import (
    Author,
    Cursor,
    FetchResult,
    Media,
    MediaKind,
    Platform,
    Post,
    Relation,
    RelationKind,
)

TWITTER_ORIGIN = "https://api.twitter.com"
WEB = "https://x.com"
EXPANSIONS = ["author_id", "attachments.media_keys", "referenced_tweets.id", "referenced_tweets.id.author_id"]
TWEET_FIELDS = ["created_at", "entities", "attachments", "referenced_tweets", "lang", "possibly_sensitive"]
USER_FIELDS = ["name", "username", "profile_image_url"]
MEDIA_FIELDS = ["url", "preview_image_url", "type", "variants", "alt_text", "width", "height"]
SEARCH_WINDOW = timedelta(days=7)
log = logging.getLogger("aggregator.sources.x")


@dataclass(frozen=True, slots=True)
class Paging:
    """Where a search stands: settled at `since`, or part-way through a backlog."""

    since: str | None  # since_id of the query (the newest id stored before this backlog)
    start: str | None = None  # start_time of the query, for a first poll without since_id
    next: str | None = None  # next_token to resume with; None: nothing left to drain
    newest: str | None = None  # newest id reached so far; becomes `since` once drained

    @classmethod
    def from_cursor(cls, position: str | None) -> Paging:
        if position and position.startswith("{"):
            try:
                raw = json.loads(position)
            except ValueError:
                return cls(None)
            if isinstance(raw, dict):
                return cls(opt_str(raw.get("since")), opt_str(raw.get("start")), opt_str(raw.get("next")),
                           opt_str(raw.get("newest")))
            return cls(None)
        return cls(position or None)

    def position(self) -> str | None:
        if self.next is None:
            return self.newest or self.since
        return json.dumps({"since": self.since, "start": self.start, "next": self.next, "newest": self.newest},
                          separators=(",", ":"))


def _quote_term(term: str) -> str:
    term = term.strip().replace('"', "")
    return f'"{term}"' if any(c.isspace() for c in term) or not term.isalnum() else term


def build_query(
    hashtags: Sequence[str],
    *,
    match: str = "any",
    keywords: Sequence[str] = (),
    accounts: Sequence[str] = (),
    exclude_words: Sequence[str] = (),
    exclude_accounts: Sequence[str] = (),
) -> str:
    """The search query: (tags any/all OR keywords OR from:accounts) minus exclusions."""
    tags = [f"#{t.strip().lstrip('#')}" for t in hashtags if t.strip().lstrip("#")]
    wanted: list[str] = []
    if tags:
        if match == "all" and len(tags) > 1:
            wanted.append("(" + " ".join(tags) + ")")
        else:
            wanted.extend(tags)
    wanted.extend(_quote_term(k) for k in keywords if k.strip())
    wanted.extend(f"from:{a.strip().lstrip('@')}" for a in accounts if a.strip())
    if not wanted:
        raise SourceError("an X source needs hashtags, keywords or accounts to search for")
    query = wanted[0] if len(wanted) == 1 else "(" + " OR ".join(wanted) + ")"
    minus = [f"-{_quote_term(w)}" for w in exclude_words if w.strip()]
    minus += [f"-from:{a.strip().lstrip('@')}" for a in exclude_accounts if a.strip()]
    return " ".join([query, *minus])


def _unescape(text: str) -> str:
    # X escapes &, < and > in tweet text.
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _locate(raw: str, needle: str, start: Any, end: Any, pos: int) -> tuple[int, int] | None:
    s, e = opt_int(start), opt_int(end)
    if s is not None and e is not None and 0 <= s < e <= len(raw) and raw[s:e].lower() == needle.lower():
        return s, e
    found = raw.lower().find(needle.lower(), pos)
    return (found, found + len(needle)) if found >= 0 else None


def render_text(
    tweet: Mapping[str, Any], media_keys: set[str], quoted_id: str | None = None
) -> tuple[str, str, tuple[str, ...]]:
    """Plain text, safe HTML and expanded links of a tweet, from its entities.

    t.co links become their expanded URLs; links to attached media and to the
    quoted tweet are dropped (the card shows those itself).
    """
    raw = text_of(tweet.get("text"))
    entities = obj(tweet.get("entities"))
    marks: list[tuple[int, int, str, str | None, str | None]] = []  # start, end, kind, href, plain/label
    links: list[str] = []
    for u in arr(entities.get("urls")):
        u = obj(u)
        short = text_of(u.get("url"))
        expanded = text_of(u.get("unwound_url")) or text_of(u.get("expanded_url")) or short
        if not short:
            continue
        where = _locate(raw, short, u.get("start"), u.get("end"), 0)
        if where is None:
            continue
        is_media = bool(u.get("media_key")) or (("/photo/" in expanded or "/video/" in expanded) and bool(media_keys))
        if quoted_id and expanded.rstrip("/").endswith(f"/status/{quoted_id}"):
            is_media = True
        if is_media:
            marks.append((where[0], where[1], "drop", None, None))
        elif not is_web_url(expanded):
            continue
        else:
            links.append(expanded)
            marks.append((where[0], where[1], "link", expanded, text_of(u.get("display_url")) or expanded))
    for h in arr(entities.get("hashtags")):
        tag = text_of(obj(h).get("tag"))
        where = _locate(raw, "#" + tag, obj(h).get("start"), obj(h).get("end"), 0) if tag else None
        if where:
            marks.append((where[0], where[1], "tag", f"{WEB}/hashtag/{tag}", None))
    for m in arr(entities.get("mentions")):
        name = text_of(obj(m).get("username"))
        where = _locate(raw, "@" + name, obj(m).get("start"), obj(m).get("end"), 0) if name else None
        if where:
            marks.append((where[0], where[1], "mention", f"{WEB}/{name}", None))
    marks.sort(key=lambda m: (m[0], -m[1]))
    plain: list[str] = []
    spans: list[Span] = []
    pos = 0
    length = 0
    for start, end, kind, href, label in marks:
        if start < pos:
            continue
        seg = _unescape(raw[pos:start])
        plain.append(seg)
        length += len(seg)
        covered = _unescape(raw[start:end])
        if kind == "drop":
            nxt = raw[end : end + 1]
            if plain and (not nxt or nxt.isspace()):
                trimmed = plain[-1].rstrip(" ")
                length -= len(plain[-1]) - len(trimmed)
                plain[-1] = trimmed
        elif kind == "link" and href:
            plain.append(href)
            spans.append(Span(length, length + len(href), "link", href, label))
            length += len(href)
        else:
            plain.append(covered)
            spans.append(Span(length, length + len(covered), "tag" if kind == "tag" else "mention", href or ""))
            length += len(covered)
        pos = end
    plain.append(_unescape(raw[pos:]))
    text = "".join(plain)
    stripped = text.rstrip()
    spans = [s for s in spans if s.end <= len(stripped)]
    return stripped, text_to_html(stripped, spans), dedupe(links)


def _media(item: Mapping[str, Any], page_url: str = "") -> Media | None:
    kind = text_of(item.get("type"))
    width, height = opt_int(item.get("width")), opt_int(item.get("height"))
    alt = text_of(item.get("alt_text"))
    if kind == "photo":
        url = opt_str(item.get("url"))
        if not url:
            return None
        return Media(
            MediaKind.PHOTO,
            url,
            thumbnail_url=f"{url}?name=small" if "?" not in url else url,
            alt_text=alt,
            width=width,
            height=height,
        )
    if kind in ("video", "animated_gif"):
        variants = [obj(v) for v in arr(item.get("variants"))]
        mp4 = [v for v in variants if text_of(v.get("content_type")) == "video/mp4" and opt_str(v.get("url"))]
        mp4.sort(key=lambda v: opt_int(v.get("bit_rate")) or 0, reverse=True)
        any_url = mp4[0]["url"] if mp4 else next((v["url"] for v in variants if opt_str(v.get("url"))), None)
        preview = opt_str(item.get("preview_image_url"))
        # Without variants the preview is only a poster: "play" opens the tweet, never the still.
        url = any_url or (page_url if preview else None)
        if not url:
            return None
        return Media(MediaKind.VIDEO, url, thumbnail_url=preview, alt_text=alt, width=width, height=height)
    return None


class _Includes:
    def __init__(self, payload: Mapping[str, Any]) -> None:
        inc = obj(payload.get("includes"))
        self.users = {text_of(obj(u).get("id")): obj(u) for u in arr(inc.get("users"))}
        self.media = {text_of(obj(m).get("media_key")): obj(m) for m in arr(inc.get("media"))}
        self.tweets = {text_of(obj(t).get("id")): obj(t) for t in arr(inc.get("tweets"))}


def tweet_url(username: str | None, tweet_id: str) -> str:
    return f"{WEB}/{username}/status/{tweet_id}" if username else f"{WEB}/i/web/status/{tweet_id}"


class XCollector:
    """Recent search for the event's hashtags, keywords and accounts."""

    def __init__(self, ctx: SourceContext, *, limits: HttpLimits | None = None) -> None:
        self.ctx = ctx
        self.settings = ctx.settings
        token = ctx.credentials.get("bearer_token", "")
        if not token:
            raise AuthError("X needs a bearer token (credentials.bearer_token)")
        self.limits = limits or HttpLimits.from_params(self.settings.params)
        self.client = tweepy.Client(bearer_token=token, wait_on_rate_limit=False, return_type=dict)
        self.client.user_agent = ctx.user_agent
        adapter = BoundedAdapter(
            self.limits, rewrite_from=TWITTER_ORIGIN, rewrite_to=self.settings.base_url, policy=ctx.fetch_policy
        )
        session: requests.Session = self.client.session
        session.max_redirects = 5
        guard = BoundedAdapter(self.limits, policy=ctx.fetch_policy)  # redirects off the origin
        session.mount("http://", guard)
        session.mount("https://", guard)
        session.mount(TWITTER_ORIGIN, adapter)
        session.hooks["response"].append(_sanitise_reset_header)
        self.query = build_query(
            ctx.hashtags,
            match=self.settings.match,
            keywords=self.settings.keywords,
            accounts=self.settings.accounts,
            exclude_words=self.settings.exclude_words,
            exclude_accounts=self.settings.exclude_accounts,
        )
        self.exclusions = Exclusions(self.settings)
        self.max_pages = max_pages(self.settings)
        self.page_size = max(10, min(100, int(self.settings.params.get("max_results", 100))))

    # -- HTTP ----------------------------------------------------------------------------------

    def _search(self, **params: Any) -> dict[str, Any]:
        return self._call(
            "/2/tweets/search/recent",
            lambda: self.client.search_recent_tweets(
                self.query,
                expansions=EXPANSIONS,
                tweet_fields=TWEET_FIELDS,
                user_fields=USER_FIELDS,
                media_fields=MEDIA_FIELDS,
                max_results=self.page_size,
                **params,
            ),
        )

    def check_deleted(self, external_ids: Sequence[str]) -> list[str]:
        """Tweets lookup: ids answered with "Not Found" or "Authorization" errors are gone."""
        gone: list[str] = []
        ids = [i for i in external_ids if i.isdigit()]
        for start in range(0, len(ids), 100):
            chunk = ids[start : start + 100]
            result = self._call("/2/tweets", lambda chunk=chunk: self.client.get_tweets(chunk))  # type: ignore[misc]
            for err in result.get("errors", []) or []:
                if isinstance(err, dict) and err.get("title") in ("Not Found Error", "Authorization Error"):
                    rid = str(err.get("resource_id") or err.get("value") or "")
                    if rid in chunk:
                        gone.append(rid)
        return gone

    def _call(self, path: str, call: Callable[[], Any]) -> dict[str, Any]:
        url = display_url(self.settings.base_url + path)
        try:
            with request_budget(self.limits):
                result = call()
        except tweepy.TooManyRequests as exc:
            reset = rate_limit_reset(exc.response.headers, self.ctx.clock())
            raise RateLimited(f"rate limited by X until {reset.isoformat(timespec='seconds')}", reset) from None
        except tweepy.Unauthorized:
            raise AuthError("X refused the bearer token (HTTP 401): check credentials.bearer_token") from None
        except tweepy.Forbidden as exc:
            detail = "; ".join(exc.api_messages) or "the token's access level does not allow recent search"
            raise AuthError(f"X refused the request (HTTP 403): {detail}") from None
        except tweepy.TwitterServerError as exc:
            if exc.response.status_code == 503 and exc.response.headers.get("retry-after"):
                reset = rate_limit_reset({"retry-after": exc.response.headers["retry-after"]}, self.ctx.clock())
                until = reset.isoformat(timespec="seconds")
                raise RateLimited(f"X unavailable (HTTP 503) until {until}", reset) from None
            raise SourceError(f"HTTP {exc.response.status_code} from {url}") from None
        except tweepy.HTTPException as exc:
            detail = "; ".join(exc.api_messages)
            status = getattr(exc.response, "status_code", "?")
            raise SourceError(f"HTTP {status} from {url}" + (f": {detail}" if detail else "")) from None
        except requests.exceptions.JSONDecodeError as exc:
            raise SourceError(f"malformed JSON from {url}: {exc}") from None
        except requests.exceptions.RequestException as exc:
            raise SourceError(f"request to {url} failed: {exc}") from None
        if not isinstance(result, dict):
            raise SourceError(f"malformed JSON from {url}: expected an object")
        return result

    def fetch(self, cursor: Cursor) -> FetchResult:
        now = self.ctx.clock()
        state = Paging.from_cursor(cursor.position)
        params: dict[str, Any] = {}
        if state.since:
            params["since_id"] = state.since
        elif state.start:
            params["start_time"] = parse_time(state.start)
        elif self.ctx.event_start is not None:
            start = max(self.ctx.event_start, now - SEARCH_WINDOW + timedelta(minutes=1))
            if start < now - timedelta(seconds=30):
                params["start_time"] = start
        start_text = params["start_time"].strftime("%Y-%m-%dT%H:%M:%SZ") if "start_time" in params else None
        if state.next:
            params["next_token"] = state.next
        posts: list[Post] = []
        skips = Skips()
        newest = state.newest
        token: str | None = None
        requests_made = 0
        for _ in range(self.max_pages):
            payload = self._search(**params)
            requests_made += 1
            page, authorless = parse_search_counted(payload, now)
            skips.add("no author in the payload", authorless)
            for p in page:
                if id_newer(p.external_id, newest):
                    newest = p.external_id
            meta_newest = opt_str(obj(payload.get("meta")).get("newest_id"))
            if meta_newest and id_newer(meta_newest, newest):
                newest = meta_newest
            posts.extend(page)
            token = opt_str(obj(payload.get("meta")).get("next_token"))
            if not token or not (page or authorless):
                token = None
                break
            params["next_token"] = token
        after = Paging(state.since, start_text if not state.since else None, token, newest)
        if token:
            log.info(
                "x.backlog_draining source=%s fetched=%d pages=%d since_id=%s: older pages remain, resuming next run",
                self.settings.name or "x", len(posts), requests_made, state.since or start_text or "-",
            )
        elif state.next:
            log.info("x.backlog_drained source=%s newest_id=%s", self.settings.name or "x", newest)
        kept = skips.screen(posts, self.exclusions)
        return FetchResult(posts=kept, cursor=Cursor(position=after.position()), requests=requests_made,
                           skipped=skips.result())

    def close(self) -> None:
        self.client.session.close()


def _sanitise_reset_header(resp: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
    """tweepy int()s x-rate-limit-reset; drop a value it would choke on so a 429 stays a 429."""
    value = resp.headers.get("x-rate-limit-reset")
    if value is not None and not value.strip().isdigit():
        del resp.headers["x-rate-limit-reset"]
    return resp


def _author(user: Mapping[str, Any], user_id: str, fallback_handle: str = "") -> Author:
    handle = text_of(user.get("username")) or fallback_handle or user_id
    avatar = opt_str(user.get("profile_image_url"))
    return Author(
        platform=Platform.X,
        external_id=user_id or handle,
        handle=handle,
        name=text_of(user.get("name")) or handle,
        avatar_url=avatar,
        profile_url=f"{WEB}/{handle}" if handle else None,
    )


def _lang(value: Any) -> str | None:
    lang = opt_str(value)
    return None if lang in (None, "und", "zxx", "qme", "qst", "qht", "qam", "art") else lang


def _refs(tweet: Mapping[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for r in arr(tweet.get("referenced_tweets")):
        kind, rid = text_of(obj(r).get("type")), text_of(obj(r).get("id"))
        if kind and rid:
            out.setdefault(kind, rid)
    return out


def _rt_handle(text: str) -> str:
    if text.startswith("RT @"):
        return text[4:].split(":", 1)[0].strip()
    return ""


def tweet_to_post(
    tweet: Mapping[str, Any], inc: _Includes, now: datetime, *, depth: int = 0, fallback_handle: str = ""
) -> Post | None:
    tweet_id = text_of(tweet.get("id"))
    if not tweet_id:
        return None
    author_id = text_of(tweet.get("author_id"))
    author = _author(inc.users.get(author_id, {}), author_id, fallback_handle)
    refs = _refs(tweet)
    url = tweet_url(author.handle, tweet_id)
    created = clamp_time(parse_time(tweet.get("created_at")), now)

    retweeted = refs.get("retweeted")
    if retweeted and depth == 0:
        original_raw = inc.tweets.get(retweeted)
        original = (
            tweet_to_post(original_raw, inc, now, depth=1, fallback_handle=_rt_handle(text_of(tweet.get("text"))))
            if original_raw
            else None
        )
        if original is not None:
            return Post(
                platform=Platform.X,
                external_id=tweet_id,
                url=url,
                author=author,
                created_at=created,
                text=original.text,
                html=original.html,
                kind=original.kind,
                language=original.language,
                media=original.media,
                hashtags=original.hashtags,
                links=original.links,
                relations=(Relation(RelationKind.REPOST, original.external_id, original.url),),
                repost_of=original,
                sensitive=original.sensitive or bool(tweet.get("possibly_sensitive")),
            )

    keys = [text_of(k) for k in arr(obj(tweet.get("attachments")).get("media_keys"))]
    media_list: list[Media] = []
    for key in keys:
        item = inc.media.get(key)
        m = _media(item, url) if item else None
        if m is not None:
            media_list.append(m)
    quoted = refs.get("quoted")
    text, html, links = render_text(tweet, set(keys), quoted)
    relations: list[Relation] = []
    if quoted:
        q_user = inc.users.get(text_of(inc.tweets.get(quoted, {}).get("author_id")), {})
        relations.append(Relation(RelationKind.QUOTE, quoted, tweet_url(opt_str(q_user.get("username")), quoted)))
    replied = refs.get("replied_to")
    if replied:
        r_user = inc.users.get(text_of(inc.tweets.get(replied, {}).get("author_id")), {})
        relations.append(Relation(RelationKind.REPLY, replied, tweet_url(opt_str(r_user.get("username")), replied)))
    if retweeted:
        relations.append(Relation(RelationKind.REPOST, retweeted, tweet_url(None, retweeted)))
    media = with_videos(tuple(media_list), links)
    tags = norm_tags(text_of(obj(h).get("tag")) for h in arr(obj(tweet.get("entities")).get("hashtags")))
    return Post(
        platform=Platform.X,
        external_id=tweet_id,
        url=url,
        author=author,
        created_at=created,
        text=text,
        html=html,
        kind=kind_of(media, links),
        language=_lang(tweet.get("lang")),
        media=media,
        hashtags=tags,
        links=links,
        relations=tuple(relations),
        sensitive=bool(tweet.get("possibly_sensitive")),
    )


def parse_search(payload: Mapping[str, Any], now: datetime) -> list[Post]:
    """Posts of one search page (tweepy return_type=dict payload == the API's JSON)."""
    return parse_search_counted(payload, now)[0]


def parse_search_counted(payload: Mapping[str, Any], now: datetime) -> tuple[list[Post], int]:
    """Posts of one search page, and how many tweets were left out for having no author."""
    inc = _Includes(payload)
    out: list[Post] = []
    authorless = 0
    for tweet in arr(payload.get("data")):
        author_id = text_of(obj(tweet).get("author_id"))
        if not author_id:
            authorless += 1  # nobody to show or moderate by: not a card
            continue
        post = tweet_to_post(obj(tweet), inc, now)
        if post is not None:
            out.append(post)
    return out, authorless
