"""Text files that are not UTF-8: where their first bad byte is, and what to tell the user (both leaves' readers).

A sales or document file exported from a spreadsheet is often Windows-1252 / Latin-1. Reading it as UTF-8 fails at
its first accented letter; the message names that byte's line and the `--encoding` option that reads the file.
"""
from __future__ import annotations

import codecs
import gzip
import zlib
from pathlib import Path

HINT = "give the file's encoding, e.g. --encoding cp1252 (Windows, Latin-1) or --encoding latin-1"


def codec_name(encoding: str | None) -> str:
    """The codec's canonical name (None: ``utf-8``); LookupError for one Python does not know."""
    return codecs.lookup(encoding or "utf-8").name


def unknown_encoding(encoding: str | None) -> str:
    return f"unknown encoding {encoding!r} (--encoding); e.g. utf-8, cp1252, latin-1"


def wrong_encoding(encoding: str | None) -> str:
    return f"cannot be read as {encoding} (--encoding); give the file's encoding"


def first_bad_byte(path: Path) -> tuple[int | None, int]:
    """(1-based line, byte value) of the first byte of the (decompressed) file that is not UTF-8; (None, 0) when
    there is none or the file cannot be read to it."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    decoder, line = codecs.getincrementaldecoder("utf-8")(), 1
    try:
        with opener(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                try:
                    decoder.decode(block)
                except UnicodeDecodeError as exc:  # exc.object: the bytes held from the last block, then this one
                    pos = max(exc.start - (len(exc.object) - len(block)), 0)
                    return line + block[:pos].count(b"\n"), exc.object[exc.start]
                line += block.count(b"\n")
    except (OSError, EOFError, zlib.error):
        pass
    return None, 0


def not_utf8(path: Path) -> str:
    """The problem, in words, of a file that is not UTF-8: its first bad byte and line, and the option."""
    line, byte = first_bad_byte(path)
    where = f"byte 0x{byte:02x} on line {line}" if line else "a byte"
    return f"not UTF-8 text ({where} is not UTF-8); {HINT}"
