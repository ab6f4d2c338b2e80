"""The Telegram channel source against saved t.me/s pages served from a loopback server."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest

from ingestion.telegram_channel import (
    ChannelFetchError,
    TelegramWebClient,
    ingest_telegram_channel,
    normalize_channel,
    parse_channel_page,
    parse_view_count,
)
from tests.ingestion.conftest import LoopbackServer, RecordedRequest, Reply, query_rows

PAGES = Path(__file__).resolve().parent.parent / "fixtures" / "telegram_pages"


def page(name: str) -> str:
    return (PAGES / name).read_text(encoding="utf-8")


def serve_fixture_channel(server: LoopbackServer) -> None:
    """`/s/fixture_memes` is latest.html; `?before=201` is older.html; other cursors 404."""

    def channel_page(request: RecordedRequest) -> Reply:
        before = request.query.get("before", [None])[0]
        if before is None:
            return Reply(body=page("latest.html").encode())
        if before == "201":
            return Reply(body=page("older.html").encode())
        return Reply(404, b"no such page")

    server.route("/s/fixture_memes", channel_page)


def web_client(server: LoopbackServer) -> TelegramWebClient:
    return TelegramWebClient(server.base_url, backoff_seconds=0)


def test_latest_page_fields_are_parsed() -> None:
    parsed = parse_channel_page(page("latest.html"))
    posts = {post.post_id: post for post in parsed.posts}

    assert parsed.older_page_before == 201
    assert parsed.broken_posts == 0
    assert sorted(posts) == [201, 202, 205, 206, 207]

    single = posts[201]
    assert single.url == "https://t.me/fixture_memes/201"
    assert single.date == datetime(2024, 3, 4, 9, 15, tzinfo=UTC)
    assert single.content is not None
    assert single.content.startswith("Monday again\ntag #memes")
    assert single.views == 1200
    assert single.media == [{"type": "photo", "url": "https://cdn4.telesco.pe/file/photo201.jpg"}]
    assert single.single_photo_url == "https://cdn4.telesco.pe/file/photo201.jpg"
    assert single.hashtags == ["#memes"]
    assert single.mentions == ["@other_channel"]
    assert single.out_links == ["https://t.me/other_channel", "https://example.com/story"]
    assert single.forwarded is None

    album = posts[202]
    assert [item["type"] for item in album.media] == ["photo", "photo", "video"]
    assert album.media[1]["url"] == "https://cdn4.telesco.pe/file/album202b.jpg"
    assert album.media[2]["duration"] == "0:07"
    assert album.single_photo_url is None
    assert album.views == 3_400_000
    assert album.content == "Three in one"

    video = posts[205]
    assert video.media == [
        {
            "type": "video",
            "url": "https://cdn4.telesco.pe/file/video205.mp4?token=def",
            "thumbnail_url": "https://cdn4.telesco.pe/file/video205thumb.jpg",
            "duration": "0:15",
        }
    ]
    assert video.single_photo_url is None
    assert video.content is None

    text_only = posts[206]
    assert text_only.media == []
    assert text_only.views == 987
    assert text_only.hashtags == ["#announcement"]
    assert text_only.link_preview == {
        "url": "https://news.example.org/today",
        "site_name": "Example News",
        "title": "Today in memes",
        "description": "Everything that happened.",
    }

    forwarded = posts[207]
    assert forwarded.forwarded == {"name": "Origin Memes", "url": "https://t.me/origin_memes/77"}
    assert forwarded.forwarded_url == "https://t.me/origin_memes/77"
    assert forwarded.single_photo_url == "https://cdn4.telesco.pe/file/photo207.jpg"


def test_reply_text_is_not_taken_as_the_post_text() -> None:
    posts = {post.post_id: post for post in parse_channel_page(page("older.html")).posts}

    assert posts[200].content == "When the build is green\non the first try"
    assert posts[199].content is None
    assert posts[198].media == []


def test_round_videos_and_bare_video_tags_count_as_video() -> None:
    html = """
    <div class="tgme_widget_message" data-post="chan/1">
      <div class="tgme_widget_message_roundvideo_player js-message_roundvideo_player">
        <video class="tgme_widget_message_roundvideo" src="https://cdn.example/round.mp4"></video>
      </div>
      <a class="tgme_widget_message_date"><time datetime="2024-01-01T00:00:00+00:00"></time></a>
    </div>
    <div class="tgme_widget_message" data-post="chan/2">
      <a class="tgme_widget_message_photo_wrap" style="background-image:url('https://cdn.example/p.jpg')"></a>
      <video src="https://cdn.example/clip.mp4"></video>
      <a class="tgme_widget_message_date"><time datetime="2024-01-01T00:01:00+00:00"></time></a>
    </div>
    """

    round_video, photo_and_video = parse_channel_page(html).posts

    assert [item["type"] for item in round_video.media] == ["video"]
    assert round_video.media[0]["url"] == "https://cdn.example/round.mp4"
    assert [item["type"] for item in photo_and_video.media] == ["photo", "video"]
    assert photo_and_video.single_photo_url is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("987", 987),
        ("1.2K", 1200),
        ("10.7K", 10700),
        ("3.4M", 3_400_000),
        ("2k", 2000),
        ("", 0),
        (None, 0),
        ("lots", 0),
        ("1.2.3K", 0),
    ],
)
def test_view_counts(text: str | None, expected: int) -> None:
    assert parse_view_count(text) == expected


@pytest.mark.parametrize(
    "written",
    ["fixture_memes", "@fixture_memes", "https://t.me/fixture_memes", "t.me/s/fixture_memes/"],
)
def test_channel_names_are_normalised(written: str) -> None:
    assert normalize_channel(written) == "fixture_memes"


@pytest.mark.parametrize("written", ["../admin", "a b c d", "abc", "fixture_memes?x=1", ""])
def test_channel_names_that_could_escape_the_url_are_rejected(written: str) -> None:
    with pytest.raises(ValueError, match="not a public Telegram channel"):
        normalize_channel(written)


def test_broken_page_skips_bad_posts_and_keeps_the_rest() -> None:
    parsed = parse_channel_page(page("broken.html"))

    assert [post.post_id for post in parsed.posts] == [301, 306]
    assert parsed.broken_posts == 6
    assert parsed.older_page_before is None  # data-before="abc" is not a cursor
    assert parsed.posts[1].views == 0


def test_truncated_html_does_not_crash() -> None:
    html = page("latest.html")
    for cut in range(0, len(html), 997):
        parsed = parse_channel_page(html[:cut])
        assert all(post.post_id in {201, 202, 205, 206, 207} for post in parsed.posts)


def test_ingest_follows_older_pages_and_creates_memes_for_single_photos(
    clean_db: asyncpg.Pool, database_url: str, loopback_server: LoopbackServer
) -> None:
    serve_fixture_channel(loopback_server)

    with web_client(loopback_server) as client:
        result = ingest_telegram_channel(
            database_url, "@fixture_memes", language_code="en", max_pages=5, web_client=client
        )

    channel_requests = loopback_server.requests_to("/s/fixture_memes")
    assert [request.query.get("before") for request in channel_requests] == [None, ["201"]]
    assert result.pages_fetched == 2
    assert result.posts_seen == 8
    assert result.new_raw_posts == 8
    assert result.new_memes == 4
    assert "memefeed" in channel_requests[0].headers["user-agent"]

    [(source_id, source_type, url, language, parsed_at)] = query_rows(
        database_url,
        "select id, type, url, language_code, parsed_at from app.meme_source",
    )
    assert (source_id, source_type, url, language) == (
        result.source_id,
        "telegram",
        "https://t.me/fixture_memes",
        "en",
    )
    assert parsed_at is not None

    raw = query_rows(
        database_url,
        "select post_id, views, forwarded_url, jsonb_array_length(media) "
        "from app.meme_raw_telegram order by post_id",
    )
    assert raw == [
        (198, 0, None, 0),
        (199, 2500, None, 1),
        (200, 10700, None, 1),
        (201, 1200, None, 1),
        (202, 3_400_000, None, 3),
        (205, 56, None, 1),
        (206, 987, None, 0),
        (207, 15, "https://t.me/origin_memes/77", 1),
    ]

    memes = query_rows(
        database_url,
        """
        select raw.post_id, meme.status, meme.type, meme.content_url, meme.caption,
               meme.language_code, meme.published_at
        from app.meme as meme
        join app.meme_raw_telegram as raw on raw.id = meme.raw_meme_id
        order by raw.post_id
        """,
    )
    assert memes == [
        (
            199,
            "created",
            "image",
            "https://cdn4.telesco.pe/file/photo199.jpg",
            None,
            "en",
            datetime(2024, 3, 1, 18, 20, tzinfo=UTC),
        ),
        (
            200,
            "created",
            "image",
            "https://cdn4.telesco.pe/file/photo200.jpg",
            "When the build is green\non the first try",
            "en",
            datetime(2024, 3, 2, 7, 5, tzinfo=UTC),
        ),
        (
            201,
            "created",
            "image",
            "https://cdn4.telesco.pe/file/photo201.jpg",
            "Monday again\ntag #memes via @other_channel read example.com/story",
            "en",
            datetime(2024, 3, 4, 9, 15, tzinfo=UTC),
        ),
        (
            207,
            "created",
            "image",
            "https://cdn4.telesco.pe/file/photo207.jpg",
            None,
            "en",
            datetime(2024, 3, 4, 13, 45, tzinfo=UTC),
        ),
    ]


def test_rerun_adds_nothing_stops_at_stored_posts_and_refreshes_views(
    clean_db: asyncpg.Pool, database_url: str, loopback_server: LoopbackServer
) -> None:
    serve_fixture_channel(loopback_server)
    with web_client(loopback_server) as client:
        ingest_telegram_channel(database_url, "fixture_memes", max_pages=5, web_client=client)
    counts_before = query_rows(
        database_url,
        "select (select count(*) from app.meme_raw_telegram), (select count(*) from app.meme), "
        "(select count(*) from app.meme_source)",
    )
    loopback_server.requests.clear()
    # The newest post has been seen more since the first run.
    newer_views = page("latest.html").replace(">1.2K<", ">1.5K<")
    loopback_server.route("/s/fixture_memes", lambda _request: Reply(body=newer_views.encode()))

    with web_client(loopback_server) as client:
        rerun = ingest_telegram_channel(
            database_url, "fixture_memes", max_pages=5, web_client=client
        )

    assert (rerun.new_raw_posts, rerun.new_memes) == (0, 0)
    assert rerun.pages_fetched == 1  # page 1 held stored posts: no need to go older
    assert len(loopback_server.requests) == 1
    counts_after = query_rows(
        database_url,
        "select (select count(*) from app.meme_raw_telegram), (select count(*) from app.meme), "
        "(select count(*) from app.meme_source)",
    )
    assert counts_after == counts_before
    assert query_rows(
        database_url, "select views from app.meme_raw_telegram where post_id = 201"
    ) == [(1500,)]


def test_max_pages_bounds_the_walk(
    clean_db: asyncpg.Pool, database_url: str, loopback_server: LoopbackServer
) -> None:
    serve_fixture_channel(loopback_server)

    with web_client(loopback_server) as client:
        result = ingest_telegram_channel(
            database_url, "fixture_memes", max_pages=1, web_client=client
        )

    assert result.pages_fetched == 1
    assert len(loopback_server.requests) == 1
    assert query_rows(database_url, "select count(*) from app.meme_raw_telegram") == [(5,)]
    assert result.new_memes == 2  # 201 and 207


def test_broken_page_is_ingested_without_crashing(
    clean_db: asyncpg.Pool, database_url: str, loopback_server: LoopbackServer
) -> None:
    loopback_server.route(
        "/s/broken_memes", lambda _request: Reply(body=page("broken.html").encode())
    )

    with web_client(loopback_server) as client:
        result = ingest_telegram_channel(
            database_url, "broken_memes", max_pages=5, web_client=client
        )

    assert result.broken_posts == 6
    assert result.pages_fetched == 1
    assert query_rows(
        database_url, "select post_id from app.meme_raw_telegram order by post_id"
    ) == [(301,), (306,)]
    assert query_rows(database_url, "select content_url from app.meme") == [
        ("https://cdn4.telesco.pe/file/photo301.jpg",)
    ]


def test_server_errors_are_retried(
    clean_db: asyncpg.Pool, database_url: str, loopback_server: LoopbackServer
) -> None:
    answers = iter(
        [Reply(503, b"busy"), Reply(502, b"bad gateway"), Reply(body=page("older.html").encode())]
    )
    loopback_server.route("/s/flaky_memes", lambda _request: next(answers))

    with TelegramWebClient(loopback_server.base_url, max_attempts=3, backoff_seconds=0) as client:
        result = ingest_telegram_channel(database_url, "flaky_memes", web_client=client)

    assert len(loopback_server.requests) == 3
    assert result.new_raw_posts == 3


def test_a_page_that_keeps_failing_raises_and_stores_nothing(
    clean_db: asyncpg.Pool, database_url: str, loopback_server: LoopbackServer
) -> None:
    loopback_server.route("/s/down_memes", lambda _request: Reply(503, b"busy"))

    with (
        TelegramWebClient(loopback_server.base_url, max_attempts=2, backoff_seconds=0) as client,
        pytest.raises(ChannelFetchError, match="HTTP 503"),
    ):
        ingest_telegram_channel(database_url, "down_memes", web_client=client)

    assert len(loopback_server.requests) == 2
    assert query_rows(database_url, "select count(*) from app.meme_source") == [(0,)]


def test_a_missing_channel_is_not_retried(
    clean_db: asyncpg.Pool, database_url: str, loopback_server: LoopbackServer
) -> None:
    with (
        TelegramWebClient(loopback_server.base_url, max_attempts=3, backoff_seconds=0) as client,
        pytest.raises(ChannelFetchError, match="HTTP 404"),
    ):
        ingest_telegram_channel(database_url, "missing_memes", web_client=client)

    assert len(loopback_server.requests) == 1


def test_a_disabled_source_is_not_fetched(
    clean_db: asyncpg.Pool, database_url: str, loopback_server: LoopbackServer
) -> None:
    serve_fixture_channel(loopback_server)
    query_rows(
        database_url,
        "insert into app.meme_source (type, url, status) "
        "values ('telegram', 'https://t.me/fixture_memes', 'parsing_disabled') returning id",
    )

    with web_client(loopback_server) as client:
        result = ingest_telegram_channel(database_url, "fixture_memes", web_client=client)

    assert result.skipped_reason == "status parsing_disabled"
    assert loopback_server.requests == []
    assert query_rows(database_url, "select count(*) from app.meme_raw_telegram") == [(0,)]
