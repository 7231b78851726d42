"""Decoding CEL string and bytes literals: quotes, raw prefixes and escape sequences."""

from __future__ import annotations

from onelane.errors import CelError

_SIMPLE_ESCAPES = {
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
    "'": "'",
    '"': '"',
    "`": "`",
    "?": "?",
}

_HEX = "0123456789abcdefABCDEF"


def decode_literal(text: str, source: str, pos: int) -> str | bytes:
    """The value of a string or bytes literal token such as ``r'a\\b'`` or ``b"\\xff"``."""
    prefix_end = 0
    while text[prefix_end] not in "'\"":
        prefix_end += 1
    prefix = text[:prefix_end].lower()
    is_bytes = "b" in prefix
    is_raw = "r" in prefix
    body = text[prefix_end:]
    quote = 3 if body[:3] in ("'''", '"""') else 1
    content = body[quote:-quote]
    if is_raw:
        return content.encode("utf-8") if is_bytes else content
    if is_bytes:
        return _decode_bytes(content, source, pos)
    return _decode_string(content, source, pos)


def _decode_string(content: str, source: str, pos: int) -> str:
    out: list[str] = []
    i = 0
    length = len(content)
    while i < length:
        char = content[i]
        if char != "\\":
            out.append(char)
            i += 1
            continue
        code, i = _escape(content, i, source, pos, for_bytes=False)
        if 0xD800 <= code <= 0xDFFF or code > 0x10FFFF:
            raise CelError(
                f"invalid code point U+{code:04X} in string literal",
                expression=source,
                position=pos,
            )
        out.append(chr(code))
    return "".join(out)


def _decode_bytes(content: str, source: str, pos: int) -> bytes:
    out = bytearray()
    i = 0
    length = len(content)
    while i < length:
        char = content[i]
        if char != "\\":
            out.extend(char.encode("utf-8"))
            i += 1
            continue
        code, i = _escape(content, i, source, pos, for_bytes=True)
        out.append(code)
    return bytes(out)


def _escape(content: str, i: int, source: str, pos: int, *, for_bytes: bool) -> tuple[int, int]:
    """Decode the escape starting at ``content[i] == '\\'``; return (code, next index)."""
    if i + 1 >= len(content):
        raise CelError("unfinished escape sequence", expression=source, position=pos)
    kind = content[i + 1]
    if kind in _SIMPLE_ESCAPES:
        return ord(_SIMPLE_ESCAPES[kind]), i + 2
    if kind in "xX":
        return _hex_digits(content, i + 2, 2, source, pos), i + 4
    if kind == "u":
        if for_bytes:
            raise CelError("\\u escape in bytes literal", expression=source, position=pos)
        return _hex_digits(content, i + 2, 4, source, pos), i + 6
    if kind == "U":
        if for_bytes:
            raise CelError("\\U escape in bytes literal", expression=source, position=pos)
        return _hex_digits(content, i + 2, 8, source, pos), i + 10
    if kind in "0123":
        digits = content[i + 1 : i + 4]
        if len(digits) == 3 and all(d in "01234567" for d in digits):
            return int(digits, 8), i + 4
    raise CelError(f"invalid escape sequence '\\{kind}'", expression=source, position=pos)


def _hex_digits(content: str, start: int, count: int, source: str, pos: int) -> int:
    digits = content[start : start + count]
    if len(digits) != count or any(d not in _HEX for d in digits):
        raise CelError("invalid hex escape sequence", expression=source, position=pos)
    return int(digits, 16)
