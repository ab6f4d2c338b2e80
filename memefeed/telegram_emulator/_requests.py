"""Reading Bot API call parameters the way Telegram accepts them.

Clients send parameters as a query string, a JSON body, an urlencoded form or multipart/form-data
(python-telegram-bot sends forms, JSON-encoding every non-string value such as ``reply_markup``).
Starlette's own form parser needs python-multipart, which the project does not depend on, so the
small parsers here read all three body kinds with the standard library.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from memefeed.telegram_emulator._errors import BotApiError, bad_request


@dataclass(frozen=True)
class UploadedFile:
    """One file part of a multipart request."""

    field_name: str
    filename: str | None
    content_type: str | None
    data: bytes


_HEADER_PARAM = re.compile(r';\s*([\w*-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))')


def _header_params(header_value: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for match in _HEADER_PARAM.finditer(header_value):
        quoted, bare = match.group(2), match.group(3)
        value = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else bare
        params[match.group(1).lower()] = value
    return params


def parse_multipart(
    body: bytes, content_type: str
) -> tuple[dict[str, str], dict[str, UploadedFile]]:
    """Split a multipart/form-data body into text fields and uploaded files."""
    boundary = _header_params(content_type).get("boundary")
    if not boundary:
        raise bad_request("multipart body without boundary")
    delimiter = b"--" + boundary.encode("latin-1")
    fields: dict[str, str] = {}
    files: dict[str, UploadedFile] = {}
    # The first chunk is the preamble; a chunk starting with "--" is the closing delimiter.
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break
        chunk = chunk.removeprefix(b"\r\n")
        raw_headers, separator, content = chunk.partition(b"\r\n\r\n")
        if not separator:
            raise bad_request("malformed multipart body")
        # The CRLF before the next delimiter belongs to the delimiter, not to the content.
        content = content.removesuffix(b"\r\n")
        headers: dict[str, str] = {}
        for line in raw_headers.decode("utf-8", errors="replace").split("\r\n"):
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        disposition = _header_params(headers.get("content-disposition", ""))
        field_name = disposition.get("name")
        if field_name is None:
            continue
        if "filename" in disposition or (
            headers.get("content-type", "text/plain").split(";")[0].strip()
            not in ("text/plain", "")
        ):
            files[field_name] = UploadedFile(
                field_name=field_name,
                filename=disposition.get("filename"),
                content_type=headers.get("content-type"),
                data=content,
            )
        else:
            fields[field_name] = content.decode("utf-8", errors="replace")
    return fields, files


def parse_body(body: bytes, content_type: str) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
    """Parameters from a request body of any kind Telegram accepts."""
    media_type = content_type.split(";")[0].strip().lower()
    if not body:
        return {}, {}
    if media_type == "application/json":
        try:
            decoded = json.loads(body)
        except ValueError as error:
            raise bad_request("can't parse JSON encoded request body") from error
        if not isinstance(decoded, dict):
            raise bad_request("JSON request body must be an object")
        return decoded, {}
    if media_type == "multipart/form-data":
        fields, files = parse_multipart(body, content_type)
        return dict(fields), files
    # Telegram treats anything else as an urlencoded form, as curl -d sends it.
    pairs = parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    return dict(pairs), {}


_TRUE_WORDS = {"true", "1", "yes", "on"}
_FALSE_WORDS = {"false", "0", "no", "off", ""}


class ApiParams:
    """Typed access to one call's parameters, whether they arrived as JSON values or strings."""

    def __init__(
        self, values: Mapping[str, Any], files: Mapping[str, UploadedFile] | None = None
    ) -> None:
        self._values = dict(values)
        self._files = dict(files or {})

    def has(self, name: str) -> bool:
        return self._values.get(name) is not None or name in self._files

    def string(self, name: str) -> str | None:
        value = self._values.get(name)
        if value is None:
            return None
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return str(value)
        return json.dumps(value)

    def integer(self, name: str) -> int | None:
        value = self._values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            raise bad_request(f"invalid {name} specified")
        if isinstance(value, int):
            return value
        try:
            return int(str(value).strip())
        except ValueError as error:
            raise bad_request(f"invalid {name} specified") from error

    def number(self, name: str) -> float | None:
        value = self._values.get(name)
        if value is None or value == "":
            return None
        try:
            return float(value)
        except (TypeError, ValueError) as error:
            raise bad_request(f"invalid {name} specified") from error

    def boolean(self, name: str, default: bool = False) -> bool:
        value = self._values.get(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        word = str(value).strip().lower()
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
        raise bad_request(f"invalid {name} specified")

    def json(self, name: str, object_kind: str) -> Any:
        """A JSON-serialized parameter; ``object_kind`` names it in Telegram's parse error."""
        value = self._values.get(name)
        if value is None:
            return None
        if not isinstance(value, str):
            return value
        if value == "":
            return None
        try:
            return json.loads(value)
        except ValueError as error:
            raise bad_request(f"can't parse {object_kind} JSON object") from error

    def file(self, name: str) -> UploadedFile | None:
        return self._files.get(name)

    def summary(self) -> dict[str, Any]:
        """The parameters for the call log, with file contents replaced by their size."""
        logged: dict[str, Any] = dict(self._values)
        for name, upload in self._files.items():
            logged[name] = f"<file {upload.filename or name}: {len(upload.data)} bytes>"
        return logged


def require(value: Any, missing_detail: str) -> Any:
    """``value``, or Telegram's 400 for a missing parameter when it is None or empty."""
    if value is None or value == "":
        raise bad_request(missing_detail)
    return value


__all__ = [
    "ApiParams",
    "BotApiError",
    "UploadedFile",
    "parse_body",
    "parse_multipart",
    "require",
]
