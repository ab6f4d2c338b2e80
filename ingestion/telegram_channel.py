"""A public Telegram channel as a meme source, read from its web preview `t.me/s/<channel>`.

Like the anchor bot's parser: every `div.tgme_widget_message[data-post]` is one post; older
pages are reached through `a.tme_messages_more[data-before]` (`?before=N`). Every post is stored
in `app.meme_raw_telegram`; only single-photo posts become memes (albums, videos and text-only
posts are kept as raw rows but are not memes).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx
import psycopg2.extensions
from psycopg2.extras import Json
from selectolax.lexbor import LexborHTMLParser, LexborNode

from ingestion import USER_AGENT
from ingestion.db import connect
from ingestion.meme_source import MemeSource, record_parsed_at, upsert_meme_source

log = logging.getLogger(__name__)

TELEGRAM_WEB_URL = "https://t.me"

# Telegram usernames: 4-32 characters of letters, digits and underscores. Checking this keeps
# anything else out of the URL path we request.
CHANNEL_USERNAME = re.compile(r"^[A-Za-z0-9_]{4,32}$")
BACKGROUND_IMAGE_URL = re.compile(r"background-image\s*:\s*url\(\s*['\"]?([^'\")]+)['\"]?\s*\)")
VIEW_COUNT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KkMmBb]?)\s*$")
VIEW_MULTIPLIERS = {"": 1, "K": 1_000, "M": 1_000_000, "B": 1_000_000_000}
HASHTAG = re.compile(r"(?<![\w#])#(\w+)")
MENTION = re.compile(r"(?<![\w@])@([A-Za-z0-9_]{4,32})\b")
POSTGRES_INTEGER_MAX = 2**31 - 1

PHOTO_SELECTOR = "a.tgme_widget_message_photo_wrap"
VIDEO_SELECTOR = ".tgme_widget_message_video_player, .tgme_widget_message_roundvideo_player"


class ChannelFetchError(RuntimeError):
    """A channel page could not be fetched, even after retries."""


class BrokenPostError(ValueError):
    """A post lacks something every stored post needs (id, date, a photo's URL)."""


@dataclass(frozen=True)
class TelegramPost:
    post_id: int
    url: str
    date: datetime
    content: str | None
    media: list[dict[str, Any]]
    views: int
    forwarded: dict[str, str | None] | None = None
    out_links: list[str] = field(default_factory=list)
    mentions: list[str] = field(default_factory=list)
    hashtags: list[str] = field(default_factory=list)
    link_preview: dict[str, str | None] | None = None

    @property
    def forwarded_url(self) -> str | None:
        return self.forwarded["url"] if self.forwarded else None

    @property
    def single_photo_url(self) -> str | None:
        """The photo's URL when the post is exactly one photo (the only posts that are memes)."""
        if len(self.media) == 1 and self.media[0]["type"] == "photo":
            return self.media[0]["url"]
        return None


@dataclass(frozen=True)
class ChannelPage:
    posts: list[TelegramPost]
    older_page_before: int | None
    broken_posts: int


@dataclass(frozen=True)
class TelegramChannelResult:
    source_id: int
    pages_fetched: int
    posts_seen: int
    broken_posts: int
    new_raw_posts: int
    new_memes: int
    skipped_reason: str | None = None


class TelegramWebClient:
    """Fetches channel preview pages, retrying 5xx, 429 and transport errors with backoff.

    `base_url` is injectable so tests can point it at a loopback server.
    """

    def __init__(
        self,
        base_url: str = TELEGRAM_WEB_URL,
        *,
        max_attempts: int = 3,
        backoff_seconds: float = 1.0,
        timeout: httpx.Timeout | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds
        self._http = httpx.Client(
            timeout=timeout or httpx.Timeout(20.0, connect=5.0),
            headers={"User-Agent": USER_AGENT, "Accept-Language": "en"},
            follow_redirects=True,
        )

    def __enter__(self) -> TelegramWebClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def fetch_channel_page(self, channel: str, before: int | None = None) -> str:
        """The HTML of `/s/<channel>`, or of the page of posts older than `before`."""
        params = {"before": str(before)} if before is not None else None
        url = f"{self.base_url}/s/{channel}"
        last_problem = "no attempt made"
        for attempt in range(1, self.max_attempts + 1):
            try:
                response = self._http.get(url, params=params)
            except httpx.TransportError as error:
                last_problem = f"{type(error).__name__}: {error}"
            else:
                if response.status_code < 400:
                    return response.text
                if response.status_code < 500 and response.status_code != 429:
                    raise ChannelFetchError(f"{url} answered HTTP {response.status_code}")
                last_problem = f"HTTP {response.status_code}"
            if attempt < self.max_attempts:
                delay = self.backoff_seconds * 2 ** (attempt - 1)
                log.warning(
                    "fetching %s (before=%s) failed (%s); retry %d in %.1fs",
                    url,
                    before,
                    last_problem,
                    attempt,
                    delay,
                )
                time.sleep(delay)
        raise ChannelFetchError(
            f"{url} (before={before}) failed after {self.max_attempts} attempts: {last_problem}"
        )


def normalize_channel(channel: str) -> str:
    """`@name`, `t.me/name`, `https://t.me/s/name` -> `name`; rejects anything else."""
    name = channel.strip()
    name = re.sub(r"^(?:https?://)?(?:www\.)?t\.me/(?:s/)?", "", name).lstrip("@").strip("/")
    if not CHANNEL_USERNAME.match(name):
        raise ValueError(f"not a public Telegram channel username: {channel!r}")
    return name


def channel_source_url(channel: str) -> str:
    """The `meme_source.url` of a channel."""
    return f"{TELEGRAM_WEB_URL}/{normalize_channel(channel)}"


def ingest_telegram_channel(
    database_url: str,
    channel: str,
    *,
    language_code: str | None = None,
    max_pages: int = 5,
    web_client: TelegramWebClient | None = None,
) -> TelegramChannelResult:
    """Store new posts of a public channel and create memes for its single-photo posts.

    Reads the newest page, then older pages while the page held no post stored before, there is
    an older page, and fewer than `max_pages` pages were read. A rerun adds nothing (stored posts
    get their view counts refreshed). `language_code` (if given) becomes the source's language,
    which its memes inherit. A page that cannot be fetched raises `ChannelFetchError` and stores
    nothing from this run.
    """
    channel = normalize_channel(channel)
    if max_pages < 1:
        raise ValueError("max_pages must be at least 1")
    client = web_client or TelegramWebClient()
    try:
        with connect(database_url) as connection, connection.cursor() as cursor:
            source = upsert_meme_source(
                cursor, "telegram", channel_source_url(channel), language_code
            )
            if not source.is_parseable:
                log.info("telegram source %s has status %s: not parsed", source.url, source.status)
                return TelegramChannelResult(source.id, 0, 0, 0, 0, 0, f"status {source.status}")
            pages_fetched = posts_seen = broken_posts = new_raw_posts = 0
            for page in _walk_pages(client, channel, cursor, source, max_pages):
                pages_fetched += 1
                posts_seen += len(page.posts)
                broken_posts += page.broken_posts
                new_raw_posts += sum(_upsert_raw_post(cursor, source, post) for post in page.posts)
            new_memes = _create_memes_for_single_photo_posts(cursor, source)
            record_parsed_at(cursor, source.id)
    finally:
        if web_client is None:
            client.close()

    log.info(
        "telegram channel %s: %d pages, %d posts (%d broken), %d new raw posts, %d new memes",
        channel,
        pages_fetched,
        posts_seen,
        broken_posts,
        new_raw_posts,
        new_memes,
    )
    return TelegramChannelResult(
        source.id, pages_fetched, posts_seen, broken_posts, new_raw_posts, new_memes
    )


def _walk_pages(
    client: TelegramWebClient,
    channel: str,
    cursor: psycopg2.extensions.cursor,
    source: MemeSource,
    max_pages: int,
) -> Iterator[ChannelPage]:
    before: int | None = None
    for page_number in range(1, max_pages + 1):
        page = parse_channel_page(client.fetch_channel_page(channel, before))
        if not page.posts:
            log.warning("channel %s page before=%s has no posts", channel, before)
        # Decide before yielding: the caller stores this page's posts, after which they would
        # all look "already stored".
        reached_stored_posts = _any_post_stored(cursor, source, page.posts)
        yield page
        if reached_stored_posts or page.older_page_before is None:
            return
        # A link that does not go back in time would make us loop over the same page.
        if before is not None and page.older_page_before >= before:
            log.warning("channel %s: older-page link does not go back; stopping", channel)
            return
        before = page.older_page_before
        if page_number == max_pages:
            log.info("channel %s: stopped at max_pages=%d", channel, max_pages)


def _any_post_stored(
    cursor: psycopg2.extensions.cursor, source: MemeSource, posts: list[TelegramPost]
) -> bool:
    if not posts:
        return False
    cursor.execute(
        """
        select exists (
            select 1 from app.meme_raw_telegram
            where meme_source_id = %s and post_id = any(%s)
        )
        """,
        (source.id, [post.post_id for post in posts]),
    )
    row = cursor.fetchone()
    return bool(row and row[0])


def _upsert_raw_post(
    cursor: psycopg2.extensions.cursor, source: MemeSource, post: TelegramPost
) -> int:
    """Insert the post, or refresh its view count; returns 1 if it was new, else 0."""
    cursor.execute(
        """
        insert into app.meme_raw_telegram as raw
            (meme_source_id, post_id, url, date, content, out_links, mentions, hashtags,
             forwarded, forwarded_url, media, views, link_preview)
        values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
        on conflict (meme_source_id, post_id) do update
        set views = greatest(raw.views, excluded.views),
            updated_at = case when excluded.views > raw.views then now() else raw.updated_at end
        returning (xmax = 0) as inserted
        """,
        (
            source.id,
            post.post_id,
            post.url,
            post.date,
            post.content,
            Json(post.out_links),
            Json(post.mentions),
            Json(post.hashtags),
            Json(post.forwarded) if post.forwarded else None,
            post.forwarded_url,
            Json(post.media),
            post.views,
            Json(post.link_preview) if post.link_preview else None,
        ),
    )
    row = cursor.fetchone()
    return int(bool(row and row[0]))


def _create_memes_for_single_photo_posts(
    cursor: psycopg2.extensions.cursor, source: MemeSource
) -> int:
    """A meme for every stored single-photo post of the source that has none yet.

    Done over all the source's raw posts, not only this run's, so a post stored by a run that
    failed before this step still gets its meme.
    """
    cursor.execute(
        """
        insert into app.meme
            (meme_source_id, raw_meme_id, status, type, content_url, caption, language_code,
             published_at)
        select raw.meme_source_id, raw.id, 'created', 'image', raw.media -> 0 ->> 'url',
               raw.content, source.language_code, raw.date
        from app.meme_raw_telegram as raw
        join app.meme_source as source on source.id = raw.meme_source_id
        where raw.meme_source_id = %s
          and jsonb_array_length(raw.media) = 1
          and raw.media -> 0 ->> 'type' = 'photo'
          and raw.media -> 0 ->> 'url' is not null
        order by raw.post_id
        on conflict (meme_source_id, raw_meme_id) do nothing
        """,
        (source.id,),
    )
    return cursor.rowcount


# --- parsing -------------------------------------------------------------------------------


def parse_channel_page(html: str) -> ChannelPage:
    """Every well-formed post on a `t.me/s/<channel>` page and the older-page cursor.

    A post missing what it needs is logged and skipped; the rest of the page is still parsed.
    """
    tree = LexborHTMLParser(html)
    posts = []
    broken_posts = 0
    for node in tree.css("div.tgme_widget_message[data-post]"):
        data_post = node.attributes.get("data-post") or ""
        try:
            posts.append(parse_post(node))
        except BrokenPostError as error:
            broken_posts += 1
            log.warning("skipping broken post %r: %s", data_post, error)
        except Exception:
            # Markup we did not foresee must cost one post, never the page or the run.
            broken_posts += 1
            log.exception("skipping post %r that could not be parsed", data_post)
    return ChannelPage(
        posts=posts, older_page_before=_older_page_before(tree), broken_posts=broken_posts
    )


def parse_post(node: LexborNode) -> TelegramPost:
    data_post = (node.attributes.get("data-post") or "").strip()
    channel_part, _, post_id_text = data_post.rpartition("/")
    if not channel_part or not post_id_text.isdigit():
        raise BrokenPostError(f"data-post {data_post!r} is not '<channel>/<number>'")

    text_node = _message_text_node(node)
    content = _text_with_line_breaks(text_node) if text_node is not None else None
    return TelegramPost(
        post_id=int(post_id_text),
        url=f"{TELEGRAM_WEB_URL}/{data_post}",
        date=_post_date(node),
        content=content or None,
        media=_post_media(node),
        views=parse_view_count(_node_text(node.css_first("span.tgme_widget_message_views"))),
        forwarded=_forwarded_from(node),
        out_links=_out_links(text_node),
        mentions=_unique(f"@{name}" for name in MENTION.findall(content or "")),
        hashtags=_unique(f"#{tag}" for tag in HASHTAG.findall(content or "")),
        link_preview=_link_preview(node),
    )


def parse_view_count(text: str | None) -> int:
    """'987' -> 987, '1.2K' -> 1200, '3.4M' -> 3400000; missing or unreadable -> 0."""
    if not text:
        return 0
    match = VIEW_COUNT.match(text)
    if not match:
        log.debug("unreadable view count %r", text)
        return 0
    try:
        views = Decimal(match.group(1)) * VIEW_MULTIPLIERS[match.group(2).upper()]
    except InvalidOperation:
        return 0
    return min(int(views), POSTGRES_INTEGER_MAX)


def _older_page_before(tree: LexborHTMLParser) -> int | None:
    more = tree.css_first("a.tme_messages_more[data-before]")
    if more is None:
        return None
    before = (more.attributes.get("data-before") or "").strip()
    return int(before) if before.isdigit() else None


def _post_date(node: LexborNode) -> datetime:
    time_node = node.css_first(".tgme_widget_message_date time[datetime]") or node.css_first(
        "time[datetime]"
    )
    if time_node is None:
        raise BrokenPostError("no time[datetime]")
    value = time_node.attributes.get("datetime") or ""
    try:
        date = datetime.fromisoformat(value)
    except ValueError as error:
        raise BrokenPostError(f"unreadable datetime {value!r}") from error
    if date.tzinfo is None:
        raise BrokenPostError(f"datetime {value!r} has no time zone")
    return date


def _post_media(node: LexborNode) -> list[dict[str, Any]]:
    """Photos and videos in page order; an album yields all of them."""
    media: list[dict[str, Any]] = []
    for item in node.css(f"{PHOTO_SELECTOR}, {VIDEO_SELECTOR}"):
        if _is_inside_link_preview(item):
            continue
        classes = item.attributes.get("class") or ""
        if "tgme_widget_message_photo_wrap" in classes:
            photo_url = _background_image_url(item)
            if photo_url is None:
                raise BrokenPostError("a photo without a usable image URL")
            media.append({"type": "photo", "url": photo_url})
        else:
            media.append(_video(item))
    # Some layouts show a bare <video> (no player wrapper); count it so the post is not
    # mistaken for a text-only or single-photo one.
    if not any(item["type"] == "video" for item in media):
        for video in node.css("video"):
            if not _is_inside_link_preview(video):
                media.append({"type": "video", "url": _http_url(video.attributes.get("src"))})
    return media


def _video(player: LexborNode) -> dict[str, Any]:
    video_tag = player.css_first("video")
    thumbnail = player.css_first(".tgme_widget_message_video_thumb")
    return {
        "type": "video",
        "url": _http_url(video_tag.attributes.get("src")) if video_tag else None,
        "thumbnail_url": _background_image_url(thumbnail) if thumbnail else None,
        "duration": _node_text(player.css_first(".message_video_duration")),
    }


def _forwarded_from(node: LexborNode) -> dict[str, str | None] | None:
    # A channel or public user is a link; a hidden user is a plain span.
    name_node = node.css_first(".tgme_widget_message_forwarded_from_name")
    if name_node is None:
        return None
    return {
        "name": _node_text(name_node),
        "url": _http_url(name_node.attributes.get("href")),
    }


def _link_preview(node: LexborNode) -> dict[str, str | None] | None:
    preview = node.css_first("a.tgme_widget_message_link_preview")
    if preview is None:
        return None
    return {
        "url": _http_url(preview.attributes.get("href")),
        "site_name": _node_text(preview.css_first(".link_preview_site_name")),
        "title": _node_text(preview.css_first(".link_preview_title")),
        "description": _node_text(preview.css_first(".link_preview_description")),
    }


def _out_links(text_node: LexborNode | None) -> list[str]:
    if text_node is None:
        return []
    return _unique(
        url for anchor in text_node.css("a[href]") if (url := _http_url(anchor.attributes["href"]))
    )


def _message_text_node(node: LexborNode) -> LexborNode | None:
    # The post's own text; a replied-to message's text is `metatext`, and a link preview's
    # description has its own class, so neither is picked up here.
    for candidate in node.css("div.tgme_widget_message_text"):
        if not _is_inside_link_preview(candidate):
            return candidate
    return None


def _text_with_line_breaks(node: LexborNode) -> str:
    # Parse a copy so that replacing <br> does not alter the tree other fields read.
    copy = LexborHTMLParser(node.html or "").body
    if copy is None:
        return ""
    for line_break in copy.css("br"):
        line_break.replace_with("\n")
    return copy.text(deep=True).strip()


def _background_image_url(node: LexborNode) -> str | None:
    match = BACKGROUND_IMAGE_URL.search(node.attributes.get("style") or "")
    return _http_url(match.group(1)) if match else None


def _http_url(value: str | None) -> str | None:
    """Only absolute http(s) URLs are kept: the media pipeline downloads them, and a page must
    never be able to point it at a local file (`file://`) or a relative path."""
    if not value:
        return None
    value = value.strip()
    if value.startswith("//"):
        value = "https:" + value
    return value if value.startswith(("https://", "http://")) else None


def _is_inside_link_preview(node: LexborNode) -> bool:
    parent = node.parent
    while parent is not None:
        if "tgme_widget_message_link_preview" in (parent.attributes.get("class") or ""):
            return True
        if "tgme_widget_message" in (parent.attributes.get("class") or "").split():
            return False
        parent = parent.parent
    return False


def _node_text(node: LexborNode | None) -> str | None:
    if node is None:
        return None
    return node.text(deep=True).strip() or None


def _unique(values: Iterable[str]) -> list[str]:
    # dict keeps first-seen order, unlike set.
    return list(dict.fromkeys(values))
