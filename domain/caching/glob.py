"""Glob patterns with exactly Redis's meaning (`stringmatchlen` in Redis's util.c), so that a
pattern deletes the same keys from the memory tier, from Redis and from the SQL tier.

Redis matches bytes, not characters: `?` is one byte of the key's UTF-8 form, and class ranges
compare bytes as C's signed `char` (a byte of 0x80 or more is negative). A pattern is translated
once into a regular expression over bytes that accepts exactly the keys Redis would:

- `*` any run of bytes (consecutive stars are one), `?` one byte;
- `[abc]`, `[^abc]` (only `^` negates), `[a-z]` (ends swapped when reversed), `\\x` inside a class
  is `x`; `]` right after `[` closes an empty class; an unterminated class ends with the pattern;
- `\\x` outside a class is the literal `x`; a trailing backslash is a literal backslash.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

_STAR, _QUESTION, _OPEN, _CLOSE, _CARET, _BACKSLASH, _DASH = b"*?[]^\\-"


def _signed(byte: int) -> int:
    return byte - 256 if byte >= 128 else byte


def _class_bytes(pattern: bytes, start: int) -> tuple[set[int], int]:
    """The bytes the class opened before `start` accepts, and the index just after it: Redis's
    loop replayed, which depends on the pattern only, never on the key."""
    size = len(pattern)
    position = start
    negated = position < size and pattern[position] == _CARET
    if negated:
        position += 1
    accepted: set[int] = set()
    while True:
        if position < size and pattern[position] == _BACKSLASH and size - position >= 2:
            position += 1
            accepted.add(pattern[position])
        elif position < size and pattern[position] == _CLOSE:
            break
        elif position >= size:
            position -= 1  # Redis steps back onto the last byte; the caller's step moves past it
            break
        elif size - position >= 3 and pattern[position + 1] == _DASH:
            low, high = _signed(pattern[position]), _signed(pattern[position + 2])
            if low > high:
                low, high = high, low
            accepted.update(byte for byte in range(256) if low <= _signed(byte) <= high)
            position += 2
        else:
            accepted.add(pattern[position])
        position += 1
    if negated:
        accepted = set(range(256)) - accepted
    return accepted, position + 1


def _byte_class(accepted: set[int]) -> bytes:
    if not accepted:
        return b"(?!)"  # an empty class matches nothing (and so consumes nothing)
    return b"[" + b"".join(b"\\x%02x" % byte for byte in sorted(accepted)) + b"]"


def glob_regex(pattern: str) -> re.Pattern[bytes]:
    """The regular expression (over UTF-8 bytes) equivalent to the Redis glob `pattern`."""
    raw = pattern.encode("utf-8", "surrogatepass")
    parts: list[bytes] = []
    position, size = 0, len(raw)
    while position < size:
        byte = raw[position]
        if byte == _STAR:
            while position + 1 < size and raw[position + 1] == _STAR:
                position += 1
            parts.append(b".*")
            position += 1
        elif byte == _QUESTION:
            parts.append(b".")
            position += 1
        elif byte == _OPEN:
            accepted, position = _class_bytes(raw, position + 1)
            parts.append(_byte_class(accepted))
        elif byte == _BACKSLASH and size - position >= 2:
            parts.append(re.escape(raw[position + 1: position + 2]))
            position += 2
        else:
            parts.append(re.escape(raw[position: position + 1]))
            position += 1
    return re.compile(b"".join(parts), re.DOTALL)


@lru_cache(maxsize=256)
def glob_matcher(pattern: str) -> Callable[[str], bool]:
    """A predicate on keys: whether Redis's `SCAN MATCH pattern` would return the key."""
    literal = literal_prefix(pattern)
    if literal + "*" == pattern:  # the common `workspace:42:*`: a prefix test, no regex
        return lambda key: key.startswith(literal)
    fullmatch = glob_regex(pattern).fullmatch
    return lambda key: fullmatch(key.encode("utf-8", "surrogatepass")) is not None


def literal_prefix(pattern: str) -> str:
    """The text every matching key starts with (up to the first special character), which lets
    the SQL tier narrow a pattern to an index range before matching exactly."""
    for index, character in enumerate(pattern):
        if character in "*?[\\":
            return pattern[:index]
    return pattern


def escape_glob(text: str) -> str:
    """`text` as a pattern matching only itself."""
    return re.sub(r"([*?\[\]\\])", r"\\\1", text)
