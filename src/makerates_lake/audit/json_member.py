"""The JSON member that holds a rate, with its byte offsets in the stored body.

``json.loads`` keeps no positions and silver's exact reader keeps no paths, so the exact
answer comes from walking the tokens (:func:`walked_member`): every scalar with its path
and offsets, scored, the first best one kept. That walk is plain Python over every token
of the answer, and a trace mostly asks about a member whose key is written once in a
valid, escape-free document (``"JPY":123.4`` in a v6 answer). For exactly those documents
:func:`find_member` scores the decoded document instead (the same scalars, in the same
order, with the same texts) and finds the one member's offsets by a search for its key;
anything else (escapes, non-ASCII bytes, invalid JSON, duplicate keys, a key written
more than once, an array element) takes the walk. ``tests/unit/audit/test_json_member.py``
holds both to the same answers.

Pure: bytes in, offsets out; no I/O.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final, NoReturn

# A rate as a JSON number or a number in a string (not a date, not a code).
_NUMERIC: Final = re.compile(r"\s*[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\s*")

# One JSON token, leading whitespace skipped; a string's escapes are kept as written.
_JSON_TOKEN: Final = re.compile(
    rb'[ \t\r\n]*(?:(?P<string>"(?:[^"\\]|\\.)*")|(?P<number>-?[0-9][0-9.eE+-]*)'
    rb"|(?P<punct>[{}\[\]:,])|(?P<literal>true|false|null))",
    re.S,
)


@dataclass(frozen=True)
class JsonHit:
    """Where a scalar of a JSON document is written.

    Attributes:
        path: Keys and array indexes from the top down to the scalar.
        start: Its key's opening quote in an object, the value itself in an array.
        value_start: Where the value (a string with its quotes) starts.
        end: Where the value ends.
    """

    path: tuple[str | int, ...]
    start: int
    value_start: int
    end: int


@dataclass(frozen=True)
class _Leaf:
    """A scalar of a JSON document: where it sits and what it says."""

    path: tuple[str | int, ...]
    start: int  # its key's opening quote in an object, the value itself in an array
    value_start: int
    end: int
    text: str  # a number as written, a string's contents


class _Frame:
    """An open object or array while walking the tokens."""

    __slots__ = ("is_object", "key", "key_start", "wants_key")

    def __init__(self, is_object: bool, start: int) -> None:
        self.is_object = is_object
        self.key: str | int = "" if is_object else 0
        self.key_start = start
        self.wants_key = is_object


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


def _string(token: bytes) -> str:
    if b"\\" not in token:
        return _text(token[1:-1])  # nothing escaped: most keys, and a lot cheaper
    try:
        text: str = json.loads(token)
    except ValueError:
        return _text(token[1:-1])
    return text


def _json_leaves(data: bytes) -> list[_Leaf]:
    """Every scalar of a JSON document with its path and byte offsets.

    A document that stops being JSON gives the scalars before.
    """
    leaves: list[_Leaf] = []
    stack: list[_Frame] = []
    at = 0
    while (match := _JSON_TOKEN.match(data, at)) is not None:
        at = match.end()
        kind = match.lastgroup or ""
        token, start = match.group(kind), match.start(kind)
        top = stack[-1] if stack else None
        if kind == "punct":
            if token in (b"{", b"["):
                stack.append(_Frame(token == b"{", start))
            elif token in (b"}", b"]"):
                if not stack:
                    break
                stack.pop()
            elif top is not None and token == b",":
                if top.is_object:
                    top.wants_key = True
                else:
                    top.key = int(top.key) + 1
            elif top is not None:  # ":"
                top.wants_key = False
        elif kind == "string" and top is not None and top.wants_key:
            top.key, top.key_start = _string(token), start
        else:
            text = _string(token) if kind == "string" else _text(token)
            fragment_start = top.key_start if top is not None and top.is_object else start
            path = tuple(frame.key for frame in stack)
            leaves.append(_Leaf(path, fragment_start, start, match.end(kind), text))
    return leaves


def _score(
    path: tuple[str | int, ...],
    text: str,
    raw: bytes,
    beside: dict[str | int, str],
    day: str,
    quote: str,
    value: str,
) -> int:
    """How well one scalar answers: 0 when it cannot hold ``quote``'s rate.

    Named by the quote (in its path, or a ``quote``/``target_code`` sibling) and numeric;
    the exact text silver read wins, and a series' member of the day beats other days.
    """
    names_quote = quote in path or quote in (beside.get("quote"), beside.get("target_code"))
    if not names_quote or _NUMERIC.fullmatch(text) is None:
        return 0
    on_day = day in path or beside.get("date") == day
    written = text == value or raw == value.encode()
    return 1 + 4 * written + 2 * on_day


def walked_member(data: bytes, day: str, quote: str, value: str) -> JsonHit | None:
    """The member holding ``quote``'s rate, by walking every token (the reference)."""
    leaves = _json_leaves(data)
    siblings: dict[tuple[str | int, ...], dict[str | int, str]] = {}
    for leaf in leaves:
        if leaf.path:
            siblings.setdefault(leaf.path[:-1], {})[leaf.path[-1]] = leaf.text
    best: _Leaf | None = None
    best_score = 0
    for leaf in leaves:
        score = _score(
            leaf.path,
            leaf.text,
            data[leaf.value_start : leaf.end],
            siblings.get(leaf.path[:-1], {}),
            day,
            quote,
            value,
        )
        if score > best_score:  # strictly: the first of equally good ones stays
            best, best_score = leaf, score
    if best is None:
        return None
    return JsonHit(best.path, best.start, best.value_start, best.end)


class _Number(str):
    """A JSON number as written (a distinct type: a string's raw form has quotes)."""

    __slots__ = ()


class _NotPlainError(Exception):
    """The document is outside what :func:`_decoded` stands in for the walk on."""


def _no_constant(name: str) -> NoReturn:
    raise _NotPlainError(name)  # NaN / Infinity: the walk stops at them


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) != len(pairs):
        raise _NotPlainError("duplicate key")  # the walk sees both; a dict keeps one
    return found


_LITERALS: Final = {True: "true", False: "false", None: "null"}
#: The siblings :func:`_score` looks at.
_SIBLINGS: Final = ("quote", "target_code", "date")


def _decoded(data: bytes) -> Any:
    """The document decoded with numbers as written, or raise :class:`_NotPlainError`.

    Only for documents where the decoded scalars are exactly the walk's: ASCII (byte and
    character offsets agree, nothing to replace), no backslash (a string's text is what
    stands between its quotes), valid JSON (the walk reads every token), no duplicate key.
    """
    if not data.isascii() or b"\\" in data:
        raise _NotPlainError("escapes or non-ASCII bytes")
    try:
        return json.loads(
            data.decode("ascii"),
            parse_float=_Number,
            parse_int=_Number,
            parse_constant=_no_constant,
            object_pairs_hook=_unique_pairs,
        )
    except ValueError as exc:
        raise _NotPlainError("not JSON") from exc


def _raw(node: object) -> tuple[str, bytes] | None:
    """(walk text, bytes as written) of a scalar; None for an object or array."""
    if isinstance(node, _Number):
        return str(node), node.encode()
    if isinstance(node, str):
        return node, b'"' + node.encode() + b'"'
    if isinstance(node, (dict, list)):
        return None
    return _LITERALS[node], _LITERALS[node].encode()  # type: ignore[index]


def _best_decoded(
    node: object, path: tuple[str | int, ...], day: str, quote: str, value: str
) -> tuple[int, tuple[str | int, ...], bytes]:
    """(score, path, bytes as written) of the first best scalar under ``node``.

    Depth first, children in order: document order, as the walk meets the scalars. Only
    the scalars that can score are looked at: below the quote's key, the member named by
    the quote, or every member beside ``"quote": "USD"``.
    """
    beside: dict[str | int, str] = {}
    if isinstance(node, dict):
        children: Iterable[tuple[str | int, Any]] = node.items()
        for name in _SIBLINGS:
            raw = _raw(node[name]) if name in node else None
            if raw is not None:
                beside[name] = raw[0]
    elif isinstance(node, list):
        children = enumerate(node)
    else:
        return 0, path, b""  # a scalar document: no path names the quote
    every = quote in path or quote in (beside.get("quote"), beside.get("target_code"))
    best: tuple[int, tuple[str | int, ...], bytes] = (0, path, b"")
    for key, child in children:
        if isinstance(child, (dict, list)):
            found = _best_decoded(child, (*path, key), day, quote, value)
        elif every or key == quote:
            text, written = _raw(child) or ("", b"")
            found = (_score((*path, key), text, written, beside, day, quote, value),
                     (*path, key), written)  # fmt: skip
        else:
            continue  # named by nothing: scores 0
        if found[0] > best[0]:  # strictly: the first of equally good ones stays
            best = found
    return best


_COLON: Final = re.compile(rb"[ \t\r\n]*:[ \t\r\n]*")


def _member_at(data: bytes, path: tuple[str | int, ...], written: bytes) -> JsonHit | None:
    """The offsets of the object member at ``path``, when its key is written once.

    Without escapes the key's token is exactly ``"key"`` in the bytes; when those bytes
    occur once, that one occurrence is the token (any other, say straddling two strings,
    would be a second).
    """
    key = path[-1] if path else None
    if not isinstance(key, str):
        return None  # an array element
    needle = b'"' + key.encode() + b'"'
    start = data.find(needle)
    if start < 0 or data.find(needle, start + 1) >= 0:
        return None
    colon = _COLON.match(data, start + len(needle))
    if colon is None:
        return None  # not after a key token, which it is; should it not be, the walk says
    end = colon.end() + len(written)
    if data[colon.end() : end] != written:
        return None
    return JsonHit(path, start, colon.end(), end)


def find_member(data: bytes, day: str, quote: str, value: str) -> JsonHit | None:
    """The member holding ``quote``'s rate on ``day``, preferring the text ``value``.

    Named by the quote (``"USD": 1.1172``), or a ``rate``-like member beside
    ``"quote": "USD"`` (Frankfurter v2, v6 pair); None when no member names it. The same
    answer as :func:`walked_member`, which it falls back to outside plain documents.
    """
    try:
        score, path, written = _best_decoded(_decoded(data), (), day, quote, value)
    except (_NotPlainError, RecursionError):
        return walked_member(data, day, quote, value)
    if score == 0:
        return None
    hit = _member_at(data, path, written)
    return hit if hit is not None else walked_member(data, day, quote, value)
