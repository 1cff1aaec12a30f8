"""Text files (CSV/TSV and JSON lines): pre-scan, encoding detection, transcoding.

A fast pre-scan in Python (numpy) checks the bytes (binary content, lines longer than
:data:`MAX_LINE_BYTES`, UTF-8 validity) and counts the lines. Files that are not UTF-8
(cp1252, else latin-1, or the given ``encoding``) are transcoded to a temporary UTF-8
file for DuckDB.
"""

from __future__ import annotations

import codecs
import gzip
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, cast

import numpy as np

from shoplens.errors import InputError

__all__ = [
    "MAX_LINE_BYTES",
    "TextScan",
    "choose_encoding",
    "normalize_encoding",
    "open_bytes",
    "prepare_text",
    "scan_text",
    "utf8_file",
]

MAX_LINE_BYTES = 2 * 1024 * 1024
"""Longest line accepted in a text file (DuckDB's default ``max_line_size``)."""

_CHUNK = 8 * 1024 * 1024
_HEAD = 256 * 1024
# Bytes undefined in cp1252: their presence means latin-1.
_NOT_CP1252 = (b"\x81", b"\x8d", b"\x8f", b"\x90", b"\x9d")


@dataclass
class TextScan:
    """What :func:`scan_text` learnt about a text file."""

    lines: int
    """Physical lines (line breaks, plus a last line without one)."""
    utf8_error_line: int | None
    """First line that is not valid UTF-8 (None: the whole file is valid UTF-8)."""
    latin1: bool
    """Holds bytes undefined in cp1252."""
    head: bytes
    bom: str | None


@contextmanager
def open_bytes(path: Path, compressed: bool, source: str) -> Iterator[IO[bytes]]:
    """The file's bytes (gunzipped when ``compressed``); corrupt gzip is an InputError."""
    try:
        if compressed:
            with gzip.open(path, "rb") as g:
                yield cast("IO[bytes]", g)
        else:
            with path.open("rb") as f:
                yield f
    except (gzip.BadGzipFile, EOFError, zlib.error) as e:
        raise InputError(
            f"corrupt gzip data ({e}); expected a valid .gz file", source=source
        ) from None


def scan_text(
    path: Path, compressed: bool, source: str, check_utf8: bool, max_line: int = MAX_LINE_BYTES
) -> TextScan:
    """One pass over the bytes: line count, longest line, NUL bytes, UTF-8 validity."""
    lines = 0  # line breaks seen so far
    run = 0  # bytes since the last line break
    head = b""
    bom: str | None = None
    utf8_error_line: int | None = None
    latin1 = False
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    last = b""
    with open_bytes(path, compressed, source) as f:
        first = True
        while True:
            chunk = f.read(_CHUNK)
            if not chunk:
                break
            if first:
                first = False
                head = chunk[:_HEAD]
                if head.startswith(b"\xef\xbb\xbf"):
                    bom = "utf-8"
                elif head.startswith((b"\xff\xfe", b"\xfe\xff")):
                    bom = "utf-16"
                    check_utf8 = False
            arr = np.frombuffer(chunk, dtype=np.uint8)
            breaks = np.flatnonzero(arr == 10)
            if bom != "utf-16":
                nul = chunk.find(b"\x00")
                if nul >= 0:
                    line = lines + chunk.count(b"\n", 0, nul) + 1
                    raise InputError(
                        "binary content (a NUL byte); expected a text file (CSV/TSV or JSON lines)",
                        source=source,
                        row=line,
                    )
            if breaks.size == 0:
                run += len(chunk)
                if run > max_line:
                    _too_long(source, lines + 1)
            else:
                if run + int(breaks[0]) > max_line:
                    _too_long(source, lines + 1)
                if breaks.size > 1:
                    gaps = np.diff(breaks)
                    k = int(np.argmax(gaps))
                    if int(gaps[k]) - 1 > max_line:
                        _too_long(source, lines + k + 2)
                run = len(chunk) - int(breaks[-1]) - 1
                lines += int(breaks.size)
            if check_utf8 and utf8_error_line is None:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as e:
                    pos = max(0, min(e.start, len(chunk)))
                    utf8_error_line = lines - int(breaks.size) + chunk.count(b"\n", 0, pos) + 1
            if not latin1 and any(b in chunk for b in _NOT_CP1252):
                latin1 = True
            last = chunk[-1:]
    if check_utf8 and utf8_error_line is None:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8_error_line = lines + 1
    if last and last != b"\n":
        lines += 1
    return TextScan(lines, utf8_error_line, latin1, head, bom)


def _too_long(source: str, line: int) -> None:
    raise InputError(
        f"a line longer than {MAX_LINE_BYTES // (1024 * 1024)} MiB without a line break; "
        "expected a text file with one record per line",
        source=source,
        row=line,
    )


def normalize_encoding(encoding: str, source: str) -> str:
    """Python's canonical name of ``encoding``; an unknown one is an InputError."""
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise InputError(
            f"unknown encoding {encoding!r}; expected e.g. utf-8, latin-1 or cp1252",
            source=source,
        ) from None


def choose_encoding(scan: TextScan, given: str | None, source: str) -> str:
    """The Python codec to read with: 'utf-8' means DuckDB reads the file as is.

    ``given`` is the encoding asked for, already through :func:`normalize_encoding`.
    """
    if given is not None:
        enc = given
        if enc in ("utf-8", "utf-8-sig"):
            if scan.utf8_error_line is not None:
                raise InputError(
                    "not valid UTF-8; expected the encoding given (utf-8): try latin-1 or cp1252",
                    source=source,
                    row=scan.utf8_error_line,
                )
            return "utf-8"
        return enc
    if scan.bom == "utf-16":
        return "utf-16"
    if scan.utf8_error_line is None:
        return "utf-8"
    return "latin-1" if scan.latin1 else "cp1252"


def prepare_text(
    path: Path,
    compressed: bool,
    source: str,
    encoding: str | None,
    max_line: int = MAX_LINE_BYTES,
) -> tuple[TextScan, str, str]:
    """(scan, codec to read with, decoded head without BOM): the pre-scan of a text file.

    ``encoding`` is the one asked for (None: detect); an unknown one is an InputError.
    """
    given = normalize_encoding(encoding, source) if encoding is not None else None
    check_utf8 = given is None or given in ("utf-8", "utf-8-sig")
    scan = scan_text(path, compressed, source, check_utf8, max_line)
    enc = choose_encoding(scan, given, source)
    head = scan.head.decode(enc if enc != "utf-8" else "utf-8-sig", errors="replace")
    return scan, enc, head.lstrip("\ufeff")


def _transcode(path: Path, compressed: bool, enc: str, source: str, tmpdir: str) -> Path:
    """Write the file re-encoded as UTF-8 into ``tmpdir``."""
    out = Path(tmpdir) / "transcoded.csv"
    decoder = codecs.getincrementaldecoder(enc)("strict")
    line = 1
    with open_bytes(path, compressed, source) as f, out.open("wb") as w:
        while True:
            chunk = f.read(_CHUNK)
            final = not chunk
            try:
                text = decoder.decode(chunk, final=final)
            except UnicodeDecodeError as e:
                line += chunk.count(b"\n", 0, max(0, e.start))
                raise InputError(
                    f"cannot be decoded as {enc}; expected a text file in that encoding",
                    source=source,
                    row=line,
                ) from None
            line += chunk.count(b"\n")
            w.write(text.encode("utf-8"))
            if final:
                break
    return out


@contextmanager
def utf8_file(path: Path, compressed: bool, enc: str, source: str) -> Iterator[tuple[Path, bool]]:
    """(a UTF-8 file DuckDB can read, whether it is gzip-compressed)."""
    if enc == "utf-8":
        yield path, compressed
        return
    with tempfile.TemporaryDirectory(prefix="shoplens-") as tmp:
        yield _transcode(path, compressed, enc, source, tmp), False
