"""Telegram's ``parse_mode`` handling: HTML, MarkdownV2 and legacy Markdown to text + entities.

Bots see the parsed text and entities in the Message they get back, exactly as on Telegram, and
malformed markup is refused with Telegram's "can't parse entities" error, which is the usual way
an unescaped user-supplied string breaks a real bot. Offsets and lengths count UTF-16 code units,
error positions count UTF-8 bytes, as Telegram's do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from memefeed.telegram_emulator._errors import BotApiError, bad_request


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(source: str, index: int) -> int:
    return len(source[:index].encode("utf-8"))


def _parse_error(detail: str) -> BotApiError:
    return bad_request(f"can't parse entities: {detail}")


@dataclass
class _TextBuilder:
    """Accumulates plain text while tracking the UTF-16 position that entities refer to."""

    parts: list[str] = field(default_factory=list)
    position: int = 0

    def add(self, text: str) -> None:
        self.parts.append(text)
        self.position += utf16_length(text)

    def text(self) -> str:
        return "".join(self.parts)


@dataclass
class _OpenEntity:
    marker: str
    entity_type: str
    start: int
    byte_offset: int
    extra: dict[str, Any] = field(default_factory=dict)
    merged_into_parent: bool = False


def _finish(entity: _OpenEntity, end: int, entities: list[dict[str, Any]]) -> None:
    # Telegram silently drops entities that cover no text.
    if end > entity.start and not entity.merged_into_parent:
        entities.append(
            {"type": entity.entity_type, "offset": entity.start, "length": end - entity.start}
            | entity.extra
        )


def _sorted(entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(entities, key=lambda entity: (entity["offset"], -entity["length"]))


# --- HTML -----------------------------------------------------------------------------------

_TAG = re.compile(
    r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)"
    r"((?:\s+[^\s=>/]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s>]*))?)*)\s*/?>"
)
_ATTRIBUTE = re.compile(r"([^\s=>/]+)(?:\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>]*)))?")
_HTML_ENTITY = re.compile(r"&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|lt|gt|amp|quot);")
_NAMED_HTML_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_SIMPLE_HTML_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
}


def _html_attributes(raw: str) -> dict[str, str]:
    attributes: dict[str, str] = {}
    for match in _ATTRIBUTE.finditer(raw):
        value = next((group for group in match.groups()[1:] if group is not None), "")
        attributes[match.group(1).lower()] = _decode_html_entities(value)
    return attributes


def _decode_html_entities(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith(("#x", "#X")):
            return chr(int(name[2:], 16))
        if name.startswith("#"):
            return chr(int(name[1:]))
        return _NAMED_HTML_ENTITIES[name]

    return _HTML_ENTITY.sub(replace, text)


def _open_html_entity(
    name: str,
    attributes: dict[str, str],
    position: int,
    byte_offset: int,
    stack: list[_OpenEntity],
) -> _OpenEntity:
    extra: dict[str, Any] = {}
    if name in _SIMPLE_HTML_TAGS:
        entity_type = _SIMPLE_HTML_TAGS[name]
    elif name == "span":
        if attributes.get("class") != "tg-spoiler":
            raise _parse_error('Tag "span" must have class "tg-spoiler"')
        entity_type = "spoiler"
    elif name == "a":
        entity_type = "text_link"
        extra["url"] = attributes.get("href", "")
    elif name == "blockquote":
        entity_type = "expandable_blockquote" if "expandable" in attributes else "blockquote"
    elif name == "tg-emoji":
        entity_type = "custom_emoji"
        extra["custom_emoji_id"] = attributes.get("emoji-id", "")
    else:
        raise _parse_error(f'Unsupported start tag "{name}" at byte offset {byte_offset}')
    entity = _OpenEntity(name, entity_type, position, byte_offset, extra)
    # <pre><code class="language-x"> is one pre entity with a language, not two entities.
    if name == "code" and stack and stack[-1].marker == "pre":
        entity.merged_into_parent = True
        language = attributes.get("class", "")
        if language.startswith("language-"):
            stack[-1].extra["language"] = language.removeprefix("language-")
    return entity


def parse_html(source: str) -> tuple[str, list[dict[str, Any]]]:
    builder = _TextBuilder()
    stack: list[_OpenEntity] = []
    entities: list[dict[str, Any]] = []
    index = 0
    while index < len(source):
        character = source[index]
        if character == "<":
            match = _TAG.match(source, index)
            byte_offset = _byte_offset(source, index)
            if match is None:
                bad_name = re.match(r"</?([^\s>]*)", source[index:])
                name = bad_name.group(1) if bad_name else ""
                raise _parse_error(f'Unsupported start tag "{name}" at byte offset {byte_offset}')
            is_closing, name = match.group(1) == "/", match.group(2).lower()
            if is_closing:
                if not stack:
                    raise _parse_error(f"Unexpected end tag at byte offset {byte_offset}")
                opened = stack.pop()
                if opened.marker != name:
                    raise _parse_error(
                        f"Unmatched end tag at byte offset {byte_offset}, expected "
                        f'"</{opened.marker}>", found "</{name}>"'
                    )
                _finish(opened, builder.position, entities)
            else:
                attributes = _html_attributes(match.group(3))
                stack.append(
                    _open_html_entity(name, attributes, builder.position, byte_offset, stack)
                )
            index = match.end()
            continue
        if character == "&":
            entity_match = _HTML_ENTITY.match(source, index)
            if entity_match is not None:
                builder.add(_decode_html_entities(entity_match.group(0)))
                index = entity_match.end()
                continue
        builder.add(character)
        index += 1
    if stack:
        raise _parse_error(f'Can\'t find end tag corresponding to start tag "{stack[-1].marker}"')
    return builder.text(), _sorted(entities)


# --- MarkdownV2 -----------------------------------------------------------------------------

_MARKDOWN_V2_RESERVED = set("_*[]()~`>#+-=|{}.!")
_MARKDOWN_V2_MARKERS = {
    "*": ("bold", "Bold"),
    "__": ("underline", "Underline"),
    "_": ("italic", "Italic"),
    "~": ("strikethrough", "Strikethrough"),
    "||": ("spoiler", "Spoiler"),
}
_ENTITY_NAMES = {entity_type: name for entity_type, name in _MARKDOWN_V2_MARKERS.values()}


def _read_escaped_until(
    source: str, start: int, terminator: str, entity_name: str, byte_offset: int
) -> tuple[str, int]:
    """Read code or a URL up to an unescaped ``terminator``; returns (text, index after it)."""
    chunk: list[str] = []
    index = start
    while index < len(source):
        if source[index] == "\\" and index + 1 < len(source):
            chunk.append(source[index + 1])
            index += 2
            continue
        if source.startswith(terminator, index):
            return "".join(chunk), index + len(terminator)
        chunk.append(source[index])
        index += 1
    raise _parse_error(f"Can't find end of {entity_name} entity at byte offset {byte_offset}")


def parse_markdown_v2(source: str) -> tuple[str, list[dict[str, Any]]]:
    builder = _TextBuilder()
    stack: list[_OpenEntity] = []
    entities: list[dict[str, Any]] = []
    quote: _OpenEntity | None = None
    index = 0
    at_line_start = True
    while index < len(source):
        character = source[index]
        byte_offset = _byte_offset(source, index)
        if at_line_start and character == ">":
            if quote is None:
                quote = _OpenEntity(">", "blockquote", builder.position, byte_offset)
            index += 1
            at_line_start = False
            continue
        if at_line_start and quote is not None:
            # A line without ">" ends the quote; the newline before it is not part of it.
            _finish(quote, builder.position - 1, entities)
            quote = None
        at_line_start = False
        if character == "\\" and index + 1 < len(source) and 0 < ord(source[index + 1]) < 127:
            builder.add(source[index + 1])
            index += 2
            continue
        if character == "`":
            is_pre = source.startswith("```", index)
            start = builder.position
            if is_pre:
                header_end = source.find("\n", index + 3)
                language = source[index + 3 : header_end] if header_end != -1 else ""
                body_start = header_end + 1 if header_end != -1 and language.strip() else index + 3
                code, index = _read_escaped_until(source, body_start, "```", "Pre", byte_offset)
                builder.add(code)
                entity: dict[str, Any] = {"type": "pre", "offset": start, "length": 0}
                if language.strip():
                    entity["language"] = language.strip()
            else:
                code, index = _read_escaped_until(source, index + 1, "`", "Code", byte_offset)
                builder.add(code)
                entity = {"type": "code", "offset": start, "length": 0}
            entity["length"] = builder.position - start
            if entity["length"]:
                entities.append(entity)
            continue
        if character == "[":
            stack.append(_OpenEntity("[", "text_link", builder.position, byte_offset))
            index += 1
            continue
        if character == "]" and stack and stack[-1].marker == "[":
            link = stack.pop()
            if not source.startswith("(", index + 1):
                raise _parse_error(
                    f"Can't find end of TextUrl entity at byte offset {byte_offset}"
                )
            url, index = _read_escaped_until(source, index + 2, ")", "TextUrl", byte_offset)
            link.extra["url"] = url
            _finish(link, builder.position, entities)
            continue
        marker = next(
            (marker for marker in ("||", "__", "*", "_", "~") if source.startswith(marker, index)),
            None,
        )
        if marker is not None:
            entity_type, entity_name = _MARKDOWN_V2_MARKERS[marker]
            if stack and stack[-1].marker == marker:
                _finish(stack.pop(), builder.position, entities)
            elif any(opened.marker == marker for opened in stack):
                raise _parse_error(
                    f"Can't find end of {entity_name} entity at byte offset "
                    f"{next(o.byte_offset for o in stack if o.marker == marker)}"
                )
            else:
                stack.append(_OpenEntity(marker, entity_type, builder.position, byte_offset))
            index += len(marker)
            continue
        if character in _MARKDOWN_V2_RESERVED:
            raise _parse_error(
                f"Character '{character}' is reserved and must be escaped with the preceding '\\'"
            )
        builder.add(character)
        at_line_start = character == "\n"
        index += 1
    if stack:
        unclosed = stack[-1]
        name = _ENTITY_NAMES.get(unclosed.entity_type, "TextUrl")
        raise _parse_error(
            f"Can't find end of {name} entity at byte offset {unclosed.byte_offset}"
        )
    if quote is not None:
        _finish(quote, builder.position, entities)
    return builder.text(), _sorted(entities)


# --- legacy Markdown ------------------------------------------------------------------------

_LEGACY_MARKERS = {"*": "bold", "_": "italic"}


def parse_markdown(source: str) -> tuple[str, list[dict[str, Any]]]:
    builder = _TextBuilder()
    entities: list[dict[str, Any]] = []
    index = 0
    while index < len(source):
        character = source[index]
        byte_offset = _byte_offset(source, index)
        unclosed = _parse_error(
            f"Can't find end of the entity starting at byte offset {byte_offset}"
        )
        if character == "\\" and index + 1 < len(source) and source[index + 1] in "_*`[":
            builder.add(source[index + 1])
            index += 2
            continue
        start = builder.position
        if character in _LEGACY_MARKERS or character == "`":
            is_pre = source.startswith("```", index)
            delimiter = "```" if is_pre else character
            end = source.find(delimiter, index + len(delimiter))
            if end == -1:
                raise unclosed
            inner = source[index + len(delimiter) : end]
            entity: dict[str, Any] = {"type": "pre" if is_pre else "code", "offset": start}
            if character in _LEGACY_MARKERS:
                entity["type"] = _LEGACY_MARKERS[character]
            elif is_pre and "\n" in inner and inner.split("\n", 1)[0].strip():
                language, inner = inner.split("\n", 1)
                entity["language"] = language.strip()
            builder.add(inner)
            entity["length"] = builder.position - start
            if entity["length"]:
                entities.append(entity)
            index = end + len(delimiter)
            continue
        if character == "[":
            text_end = source.find("]", index + 1)
            if text_end == -1 or not source.startswith("(", text_end + 1):
                raise unclosed
            url_end = source.find(")", text_end + 2)
            if url_end == -1:
                raise unclosed
            builder.add(source[index + 1 : text_end])
            length = builder.position - start
            if length:
                entities.append(
                    {
                        "type": "text_link",
                        "offset": start,
                        "length": length,
                        "url": source[text_end + 2 : url_end],
                    }
                )
            index = url_end + 1
            continue
        builder.add(character)
        index += 1
    return builder.text(), _sorted(entities)


def parse_formatted(
    text: str, parse_mode: str | None, explicit_entities: Any
) -> tuple[str, list[dict[str, Any]]]:
    """Plain text and entities for a text or caption, as Telegram stores them."""
    if explicit_entities is not None:
        # Telegram uses explicit entities and ignores parse_mode when both are given.
        if not isinstance(explicit_entities, list) or not all(
            isinstance(entity, dict) for entity in explicit_entities
        ):
            raise bad_request("can't parse entities JSON object")
        return text, list(explicit_entities)
    if not parse_mode:
        return text, []
    mode = parse_mode.lower()
    if mode == "html":
        return parse_html(text)
    if mode == "markdownv2":
        return parse_markdown_v2(text)
    if mode == "markdown":
        return parse_markdown(text)
    raise bad_request("unsupported parse_mode")
