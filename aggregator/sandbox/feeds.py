"""Feed fakes: Flickr public photo feeds (Atom, RSS 2.0), YouTube video feeds (Atom), blog feeds.

XML is written by hand with every value escaped, so the layout (namespaces,
element order) matches the real feeds exactly and the bytes are deterministic.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from urllib.parse import quote, urlencode
from xml.sax.saxutils import escape, quoteattr

from aggregator.sandbox.http import Request, Response, text_response
from aggregator.sandbox.scenario import ScenarioPost
from aggregator.sandbox.text import paragraphs_html, segments
from aggregator.sandbox.world import World

ATOM_NS = "http://www.w3.org/2005/Atom"
MEDIA_NS = "http://search.yahoo.com/mrss/"
XML_DECL = '<?xml version="1.0" encoding="utf-8" standalone="yes"?>\n'


def _e(text: str) -> str:
    return escape(text)


def _a(text: str) -> str:
    return quoteattr(text)


def _atom_time(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _rfc822(t: datetime) -> str:
    return format_datetime(t.astimezone(UTC).replace(microsecond=0))


def _offset_time(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def _people(base: str, nsid: str) -> str:
    return f"{base}/flickr/people/{quote(nsid, safe='@')}/"


def _not_found() -> Response:
    return text_response("<!DOCTYPE html><html><body><h1>404 Not Found</h1></body></html>", 404,
                         "text/html; charset=utf-8")


def _tags(world: World, p: ScenarioPost, now: datetime) -> list[str]:
    out: list[str] = []
    for s in segments(world.text(p, now)):
        tag = "".join(ch for ch in s.value.lower() if ch.isalnum()) if s.kind == "tag" else ""
        if tag and tag not in out:
            out.append(tag)
    return out


def _body_text(world: World, p: ScenarioPost, now: datetime) -> str:
    """The description without the hashtags appended for other platforms (feeds carry tags as categories)."""
    t = world.edit_time(p)
    return p.edited_text if (t is not None and p.edited_text is not None and t <= now) else p.text


# ------------------------------------------------------------------ Flickr


class FlickrFeed:
    def __init__(self, world: World) -> None:
        self.world = world

    def photo_id(self, p: ScenarioPost) -> str:
        return str(53_500_000_000 + self.world.rank[p.id] * 13)

    def page_url(self, base: str, p: ScenarioPost) -> str:
        return f"{base}/flickr/photos/{quote(self._name(p))}/{self.photo_id(p)}/"

    def _name(self, p: ScenarioPost) -> str:
        person = self.world.author(p)
        return person.handle or person.key

    def handle(self, req: Request, sub: str) -> Response:
        if sub != "/services/feeds/photos_public.gne" or req.method not in ("GET", "HEAD"):
            return _not_found()
        w = self.world
        now = w.now()
        wanted = [t.strip().lower() for t in (req.arg("tags") or "").split(",") if t.strip()]
        mode = (req.arg("tagmode") or "all").lower()
        ids_filter = {i for raw in (req.arg("id") or "", req.arg("ids") or "") for i in raw.split(",") if i}
        posts = []
        for p in w.visible("flickr", now):
            tags = set(_tags(w, p, now))
            if wanted and not (any(t in tags for t in wanted) if mode == "any" else all(t in tags for t in wanted)):
                continue
            if ids_filter and w.flickr_nsid(w.author(p)) not in ids_filter:
                continue
            posts.append(p)
        posts = posts[:20]
        fmt = (req.arg("format") or "atom").lower()
        query = urlencode([(k, v) for k, vs in req.query.items() for v in vs])
        self_url = f"{req.base}/flickr/services/feeds/photos_public.gne" + (f"?{query}" if query else "")
        label = " ".join(wanted)
        title = f"Recent Uploads tagged {label}" if wanted else "Uploads from everyone"
        if fmt in ("rss2", "rss_200", "rss", "rss_200_enc"):
            body = self._rss(req.base, posts, title, self_url, now)
            return Response(200, body.encode("utf-8"), content_type="application/rss+xml; charset=utf-8")
        if fmt not in ("atom", "atom_1"):
            return text_response(f"Unknown format {fmt}", 400)
        body = self._atom(req.base, posts, title, self_url, wanted, mode, now)
        return Response(200, body.encode("utf-8"), content_type="application/atom+xml; charset=utf-8")

    def _description(self, base: str, p: ScenarioPost, now: datetime, title: str) -> str:
        w = self.world
        ref = w.media(p)[0]
        tw, th = ref.thumb_size(240)
        person = w.author(p)
        return (
            f'<p><a href="{_people(base, w.flickr_nsid(person))}">{_e(self._name(p))}</a> '
            f"posted a photo:</p>\n\n"
            f'<p><a href="{self.page_url(base, p)}" title={_a(title)}><img src="{ref.photo_url(base, tw, th)}" '
            f'width="{tw}" height="{th}" alt={_a(title)} /></a></p>\n\n'
            + paragraphs_html(_body_text(w, p, now))
        )

    def _atom(
        self, base: str, posts: list[ScenarioPost], title: str, self_url: str, wanted: list[str], mode: str,
        now: datetime,
    ) -> str:
        w = self.world
        updated = max((w.created_at(p) for p in posts), default=w.anchor)
        label = ",".join(wanted)
        out = [
            XML_DECL,
            f'<feed xmlns="{ATOM_NS}"\n      xmlns:dc="http://purl.org/dc/elements/1.1/"\n'
            f'      xmlns:flickr="urn:flickr:user"\n      xmlns:media="{MEDIA_NS}">\n\n',
            f"\t<title>{_e(title)}</title>\n",
            f"\t<link rel=\"self\" href={_a(self_url)} />\n",
            f"\t<link rel=\"alternate\" type=\"text/html\" href={_a(f'{base}/flickr/photos/tags/{label}/')}/>\n",
            f"\t<id>tag:flickr.com,2005:/photos/public/tagged/{_e(mode)}/{_e(label)}</id>\n",
            f"\t<icon>{base}/media/avatar/flickr.png</icon>\n",
            "\t<subtitle></subtitle>\n",
            f"\t<updated>{_atom_time(updated)}</updated>\n",
            '\t<generator uri="https://www.flickr.com/">Flickr</generator>\n',
        ]
        for p in posts:
            person = w.author(p)
            ref = w.media(p)[0]
            etitle = p.title or _body_text(w, p, now)[:60]
            created = w.created_at(p)
            out += [
                "\n\t<entry>\n",
                f"\t\t<title>{_e(etitle)}</title>\n",
                f"\t\t<link rel=\"alternate\" type=\"text/html\" href={_a(self.page_url(base, p))}/>\n",
                f"\t\t<id>tag:flickr.com,2005:/photo/{self.photo_id(p)}</id>\n",
                f"\t\t<published>{_atom_time(created)}</published>\n",
                f"\t\t<updated>{_atom_time(created)}</updated>\n",
                f"\t\t<flickr:date_taken>{_offset_time(created)}</flickr:date_taken>\n",
                f"\t\t<dc:date.Taken>{_offset_time(created)}</dc:date.Taken>\n",
                f"\t\t<content type=\"html\">{_e(self._description(base, p, now, etitle))}</content>\n",
                "\t\t<author>\n",
                f"\t\t\t<name>{_e(self._name(p))}</name>\n",
                f"\t\t\t<uri>{_people(base, w.flickr_nsid(person))}</uri>\n",
                f"\t\t\t<flickr:nsid>{_e(w.flickr_nsid(person))}</flickr:nsid>\n",
                f"\t\t\t<flickr:buddyicon>{base}/media/avatar/{quote(person.key)}.png</flickr:buddyicon>\n",
                "\t\t</author>\n",
                '\t\t<link rel="license" type="text/html" href="https://creativecommons.org/licenses/by/2.0/" />\n',
                f"\t\t<link rel=\"enclosure\" type=\"image/jpeg\" href={_a(ref.photo_url(base))} />\n",
            ]
            out += [
                f"\t\t<category term={_a(t)} scheme=\"{base}/flickr/photos/tags/\" />\n" for t in _tags(w, p, now)
            ]
            out.append("\t</entry>\n")
        out.append("</feed>\n")
        return "".join(out)

    def _rss(self, base: str, posts: list[ScenarioPost], title: str, self_url: str, now: datetime) -> str:
        w = self.world
        updated = max((w.created_at(p) for p in posts), default=w.anchor)
        out = [
            XML_DECL,
            f'<rss version="2.0"\n        xmlns:media="{MEDIA_NS}"\n'
            '        xmlns:dc="http://purl.org/dc/elements/1.1/"\n'
            '        xmlns:creativeCommons="http://cyber.law.harvard.edu/rss/creativeCommonsRssModule.html"\n'
            '        xmlns:flickr="urn:flickr:user" >\n',
            "\t<channel>\n\n",
            f"\t\t<title>{_e(title)}</title>\n",
            f"\t\t<link>{base}/flickr/photos/tags/</link>\n",
            "\t\t<description></description>\n",
            f"\t\t<pubDate>{_rfc822(updated)}</pubDate>\n",
            f"\t\t<lastBuildDate>{_rfc822(updated)}</lastBuildDate>\n",
            "\t\t<generator>https://www.flickr.com/</generator>\n",
        ]
        for p in posts:
            person = w.author(p)
            ref = w.media(p)[0]
            etitle = p.title or _body_text(w, p, now)[:60]
            created = w.created_at(p)
            tags = _tags(w, p, now)
            out += [
                "\n\t\t<item>\n",
                f"\t\t\t<title>{_e(etitle)}</title>\n",
                f"\t\t\t<link>{_e(self.page_url(base, p))}</link>\n",
                f"\t\t\t<description>{_e(self._description(base, p, now, etitle))}</description>\n",
                f"\t\t\t<pubDate>{_rfc822(created)}</pubDate>\n",
                f"\t\t\t<dc:date.Taken>{_offset_time(created)}</dc:date.Taken>\n",
                f"\t\t\t<author flickr:profile=\"{_people(base, w.flickr_nsid(person))}\">"
                f"nobody@flickr.com (&quot;{_e(self._name(p))}&quot;)</author>\n",
                f"\t\t\t<guid isPermaLink=\"false\">tag:flickr.com,2005:/photo/{self.photo_id(p)}</guid>\n",
                f"\t\t\t<media:content url={_a(ref.photo_url(base))} type=\"image/jpeg\" "
                f"height=\"{ref.spec.height}\" width=\"{ref.spec.width}\"/>\n",
                f"\t\t\t<media:title>{_e(etitle)}</media:title>\n",
                f"\t\t\t<media:description type=\"html\">{_e(paragraphs_html(_body_text(w, p, now)))}"
                "</media:description>\n",
                f"\t\t\t<media:thumbnail url={_a(ref.photo_url(base, 75, 75))} height=\"75\" width=\"75\" />\n",
                f"\t\t\t<media:credit role=\"photographer\">{_e(self._name(p))}</media:credit>\n",
                f"\t\t\t<media:category scheme=\"urn:flickr:tags\">{_e(' '.join(tags))}</media:category>\n",
                f"\t\t\t<enclosure url={_a(ref.photo_url(base))} type=\"image/jpeg\" length=\"0\" />\n",
                "\t\t</item>\n",
            ]
        out.append("\t</channel>\n</rss>\n")
        return "".join(out)


# ------------------------------------------------------------------ YouTube


class YouTubeFeed:
    def __init__(self, world: World) -> None:
        self.world = world

    def handle(self, req: Request, sub: str) -> Response:
        if sub != "/feeds/videos.xml" or req.method not in ("GET", "HEAD"):
            return _not_found()
        w = self.world
        now = w.now()
        channel_id, playlist_id = req.arg("channel_id"), req.arg("playlist_id")
        videos = w.visible("youtube", now)
        if channel_id:
            owner = next((x for x in w.scenario.people if w.youtube_channel(x) == channel_id), None)
            if owner is None:
                return _not_found()
            videos = [p for p in videos if p.author == owner.key]
            feed_id = f"yt:channel:{channel_id}"
            extra = f" <yt:channelId>{_e(channel_id)}</yt:channelId>\n"
            link = f"https://www.youtube.com/channel/{channel_id}"
            self_url = f"{req.base}/youtube/feeds/videos.xml?channel_id={quote(channel_id)}"
            name = owner.name
        elif playlist_id:
            all_lists = {pl for p in w.scenario.posts if p.platform == "youtube" for pl in p.playlists}
            if playlist_id not in all_lists:
                return _not_found()
            videos = [p for p in videos if playlist_id in p.playlists]
            first = next(p for p in w.scenario.posts if playlist_id in p.playlists)
            owner = w.author(first)
            feed_id = f"yt:playlist:{playlist_id}"
            extra = (f" <yt:playlistId>{_e(playlist_id)}</yt:playlistId>\n"
                     f" <yt:channelId>{_e(w.youtube_channel(owner))}</yt:channelId>\n")
            link = f"https://www.youtube.com/playlist?list={playlist_id}"
            self_url = f"{req.base}/youtube/feeds/videos.xml?playlist_id={quote(playlist_id)}"
            name = f"{owner.name} videos"
        else:
            return text_response("<!DOCTYPE html><html><body>Bad Request</body></html>", 400,
                                 "text/html; charset=utf-8")
        videos = videos[:15]
        channel = w.youtube_channel(owner)
        out = [
            '<?xml version="1.0" encoding="UTF-8"?>\n',
            '<feed xmlns:yt="http://www.youtube.com/xml/schemas/2015" '
            f'xmlns:media="{MEDIA_NS}" xmlns="{ATOM_NS}">\n',
            f' <link rel="self" href={_a(self_url)}/>\n',
            f" <id>{_e(feed_id)}</id>\n",
            extra,
            f" <title>{_e(name)}</title>\n",
            f' <link rel="alternate" href={_a(link)}/>\n',
            " <author>\n",
            f"  <name>{_e(owner.name)}</name>\n",
            f"  <uri>https://www.youtube.com/channel/{_e(channel)}</uri>\n",
            " </author>\n",
            " <published>2013-01-15T09:00:00+00:00</published>\n",
        ]
        for p in videos:
            vid = self.video_id(p)
            created = w.created_at(p)
            edited = w.edited_at(p, now) or created
            title = p.title or _body_text(w, p, now)[:80]
            out += [
                " <entry>\n",
                f"  <id>yt:video:{vid}</id>\n",
                f"  <yt:videoId>{vid}</yt:videoId>\n",
                f"  <yt:channelId>{_e(channel)}</yt:channelId>\n",
                f"  <title>{_e(title)}</title>\n",
                f'  <link rel="alternate" href="https://www.youtube.com/watch?v={vid}"/>\n',
                "  <author>\n",
                f"   <name>{_e(owner.name)}</name>\n",
                f"   <uri>https://www.youtube.com/channel/{_e(channel)}</uri>\n",
                "  </author>\n",
                f"  <published>{_offset_time(created)}</published>\n",
                f"  <updated>{_offset_time(edited)}</updated>\n",
                "  <media:group>\n",
                f"   <media:title>{_e(title)}</media:title>\n",
                f'   <media:content url="https://www.youtube.com/v/{vid}?version=3" '
                'type="application/x-shockwave-flash" width="640" height="390"/>\n',
                f'   <media:thumbnail url="{req.base}/media/vi/{vid}/hqdefault.jpg" width="480" height="360"/>\n',
                f"   <media:description>{_e(_body_text(w, p, now))}</media:description>\n",
                "   <media:community>\n",
                f'    <media:starRating count="{p.likes}" average="5.00" min="1" max="5"/>\n',
                f'    <media:statistics views="{p.likes * 10}"/>\n',
                "   </media:community>\n",
                "  </media:group>\n",
                " </entry>\n",
            ]
        out.append("</feed>\n")
        return Response(200, "".join(out).encode("utf-8"), content_type="text/xml; charset=UTF-8")

    def video_id(self, p: ScenarioPost) -> str:
        from aggregator.sandbox.ids import youtube_video_id

        return youtube_video_id(p.id)


# ------------------------------------------------------------------ blogs


class BlogFeed:
    """Generic blog feeds /feed/<name>.atom and /feed/<name>.rss with conditional GET."""

    def __init__(self, world: World) -> None:
        self.world = world

    def entry_url(self, base: str, p: ScenarioPost) -> str:
        return f"{base}/feed/{quote(p.feed)}/{quote(p.id)}.html"

    def handle(self, req: Request, sub: str) -> Response:
        name, dot, ext = sub.lstrip("/").rpartition(".")
        if not dot or ext not in ("atom", "rss") or "/" in name or req.method not in ("GET", "HEAD"):
            return _not_found()
        w = self.world
        if not any(p.platform == "feed" and p.feed == name for p in w.scenario.posts):
            return _not_found()
        now = w.now()
        posts = [p for p in w.visible("feed", now) if p.feed == name][:20]
        title = w.scenario.feed_titles.get(name, name.replace("-", " ").title())
        last = max((w.edited_at(p, now) or w.created_at(p) for p in posts), default=w.anchor)
        if ext == "atom":
            body = self._atom(req.base, name, title, posts, last, now)
            ctype = "application/atom+xml; charset=utf-8"
        else:
            body = self._rss(req.base, name, title, posts, last, now)
            ctype = "application/rss+xml; charset=utf-8"
        data = body.encode("utf-8")
        etag = '"' + hashlib.sha256(data).hexdigest()[:20] + '"'
        last_modified = format_datetime(last.astimezone(UTC).replace(microsecond=0), usegmt=True)
        headers = [("ETag", etag), ("Last-Modified", last_modified), ("Cache-Control", "max-age=0")]
        if _not_modified(req, etag, last):
            return Response(304, b"", content_type="", headers=headers)
        return Response(200, data, content_type=ctype, headers=headers)

    def _content(self, base: str, p: ScenarioPost, now: datetime) -> str:
        html = paragraphs_html(_body_text(self.world, p, now))
        refs = self.world.media(p)
        if refs and refs[0].spec.kind == "photo":
            html = (f'<p><img src="{refs[0].photo_url(base)}" alt={_a(refs[0].spec.alt)} '
                    f'width="{refs[0].spec.width}" height="{refs[0].spec.height}" /></p>') + html
        return html

    def _atom(
        self, base: str, name: str, title: str, posts: Iterable[ScenarioPost], last: datetime, now: datetime,
    ) -> str:
        w = self.world
        out = [
            '<?xml version="1.0" encoding="utf-8"?>\n',
            f'<feed xmlns="{ATOM_NS}" xml:lang="en">\n',
            f"  <title>{_e(title)}</title>\n",
            f'  <link rel="self" type="application/atom+xml" href="{base}/feed/{quote(name)}.atom"/>\n',
            f'  <link rel="alternate" type="text/html" href="{base}/feed/{quote(name)}/"/>\n',
            f"  <id>{base}/feed/{quote(name)}/</id>\n",
            f"  <updated>{_atom_time(last)}</updated>\n",
            '  <generator uri="https://wordpress.org/">WordPress</generator>\n',
        ]
        for p in posts:
            created = w.created_at(p)
            updated = w.edited_at(p, now) or created
            refs = w.media(p)
            out += [
                "  <entry>\n",
                f"    <title type=\"text\">{_e(p.title or _body_text(w, p, now)[:60])}</title>\n",
                f'    <link rel="alternate" type="text/html" href={_a(self.entry_url(base, p))}/>\n',
                f"    <id>{_e(self.entry_url(base, p))}</id>\n",
                f"    <published>{_atom_time(created)}</published>\n",
                f"    <updated>{_atom_time(updated)}</updated>\n",
                f"    <author><name>{_e(w.author(p).name)}</name></author>\n",
                f"    <summary type=\"text\">{_e(_body_text(w, p, now))}</summary>\n",
                f"    <content type=\"html\">{_e(self._content(base, p, now))}</content>\n",
            ]
            out += [f"    <category term={_a(t)}/>\n" for t in _tags(w, p, now)]
            if refs and refs[0].spec.kind == "photo":
                out.append(f'    <link rel="enclosure" type="image/jpeg" length="0" '
                           f"href={_a(refs[0].photo_url(base))}/>\n")
            out.append("  </entry>\n")
        out.append("</feed>\n")
        return "".join(out)

    def _rss(
        self, base: str, name: str, title: str, posts: Iterable[ScenarioPost], last: datetime, now: datetime,
    ) -> str:
        w = self.world
        out = [
            '<?xml version="1.0" encoding="utf-8"?>\n',
            '<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom" '
            'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/">\n',
            "<channel>\n",
            f"  <title>{_e(title)}</title>\n",
            f"  <link>{base}/feed/{quote(name)}/</link>\n",
            f'  <atom:link href="{base}/feed/{quote(name)}.rss" rel="self" type="application/rss+xml"/>\n',
            f"  <description>{_e(title)}</description>\n",
            f"  <lastBuildDate>{_rfc822(last)}</lastBuildDate>\n",
            "  <language>en</language>\n",
        ]
        for p in posts:
            refs = w.media(p)
            out += [
                "  <item>\n",
                f"    <title>{_e(p.title or _body_text(w, p, now)[:60])}</title>\n",
                f"    <link>{_e(self.entry_url(base, p))}</link>\n",
                f"    <guid isPermaLink=\"true\">{_e(self.entry_url(base, p))}</guid>\n",
                f"    <pubDate>{_rfc822(w.created_at(p))}</pubDate>\n",
                f"    <dc:creator>{_e(w.author(p).name)}</dc:creator>\n",
                f"    <description>{_e(_body_text(w, p, now))}</description>\n",
                f"    <content:encoded>{_e(self._content(base, p, now))}</content:encoded>\n",
            ]
            out += [f"    <category>{_e(t)}</category>\n" for t in _tags(w, p, now)]
            if refs and refs[0].spec.kind == "photo":
                out.append(f"    <enclosure url={_a(refs[0].photo_url(base))} length=\"0\" type=\"image/jpeg\"/>\n")
            out.append("  </item>\n")
        out.append("</channel>\n</rss>\n")
        return "".join(out)


def _not_modified(req: Request, etag: str, last: datetime) -> bool:
    inm = req.header("If-None-Match")
    if inm is not None:
        tags = [t.strip().removeprefix("W/") for t in inm.split(",")]
        return "*" in tags or etag in tags
    ims = req.header("If-Modified-Since")
    if ims:
        try:
            since = parsedate_to_datetime(ims)
        except (TypeError, ValueError):
            return False
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        return last.replace(microsecond=0) <= since
    return False
