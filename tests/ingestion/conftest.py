"""Loopback HTTP servers and test images for the ingestion tests (no internet is used)."""

from __future__ import annotations

import contextlib
import io
import random
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import psycopg2
import pytest
from PIL import Image

from memefeed.db_urls import plain_postgres_url


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    # False sends no Content-Length and ends the body by closing the connection, the way a
    # server that streams an unknown length does.
    send_length: bool = True


Handler = Callable[[RecordedRequest], Reply]


@dataclass
class LoopbackServer:
    """An HTTP server on 127.0.0.1 with a free port; routes map a path to a handler."""

    routes: dict[str, Handler] = field(default_factory=dict)
    requests: list[RecordedRequest] = field(default_factory=list)
    base_url: str = ""

    def route(self, path: str, handler: Handler) -> None:
        self.routes[path] = handler

    def serve_bytes(self, path: str, body: bytes, content_type: str = "image/jpeg") -> str:
        self.route(path, lambda _request: Reply(body=body, content_type=content_type))
        return self.base_url + path

    def requests_to(self, path: str) -> list[RecordedRequest]:
        return [request for request in self.requests if request.path == path]


def _request_handler(server_state: LoopbackServer) -> type[BaseHTTPRequestHandler]:
    class RouteHandler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._answer()

        def do_POST(self) -> None:
            self._answer()

        def _answer(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            request = RecordedRequest(
                method=self.command,
                path=parts.path,
                query=parse_qs(parts.query),
                headers={key.lower(): value for key, value in self.headers.items()},
                body=self.rfile.read(length) if length else b"",
            )
            server_state.requests.append(request)
            handler = server_state.routes.get(parts.path)
            reply = handler(request) if handler else Reply(404, b"not found", "text/plain")
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            if reply.send_length:
                self.send_header("Content-Length", str(len(reply.body)))
            else:
                self.close_connection = True
            self.end_headers()
            # The size-cap tests hang up on purpose in the middle of a body.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(reply.body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # keep pytest output readable

    return RouteHandler


@pytest.fixture
def loopback_server() -> Iterator[LoopbackServer]:
    state = LoopbackServer()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _request_handler(state))
    server.daemon_threads = True
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def query_rows(database_url: str, statement: str, params: tuple[object, ...] = ()) -> list[tuple]:
    with (
        psycopg2.connect(plain_postgres_url(database_url)) as connection,
        connection.cursor() as cursor,
    ):
        cursor.execute(statement, params)
        rows = cursor.fetchall()
    connection.close()
    return rows


def blocky_image(seed: int, size: tuple[int, int] = (320, 240), cells: int = 8) -> Image.Image:
    """A picture of random coloured blocks: different seeds give clearly different images."""
    rng = random.Random(seed)
    image = Image.new("RGB", size)
    cell_width = size[0] / cells
    cell_height = size[1] / cells
    for row in range(cells):
        for column in range(cells):
            colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
            box = (
                round(column * cell_width),
                round(row * cell_height),
                round((column + 1) * cell_width),
                round((row + 1) * cell_height),
            )
            image.paste(colour, box)
    return image


def image_bytes(image: Image.Image, image_format: str = "PNG", **save_options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=image_format, **save_options)
    return buffer.getvalue()
