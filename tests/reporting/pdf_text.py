"""Just enough of a PDF reader to check what a generated report says: the text of its pages and its Info.

Reads what fpdf2 writes: indirect objects, Flate-compressed streams, `Tj` strings shown in a font
selected with `Tf`; for embedded TrueType fonts (two-byte glyph ids) the font's ToUnicode CMap
maps the codes back to characters, for the core fonts the bytes are Latin-1.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

OBJECT = re.compile(rb"(\d+) 0 obj(.*?)endobj", re.S)
STREAM = re.compile(rb"stream\r?\n(.*?)\r?\nendstream", re.S)
ESCAPES = {
    b"n": b"\n",
    b"r": b"\r",
    b"t": b"\t",
    b"b": b"\b",
    b"f": b"\f",
    b"(": b"(",
    b")": b")",
    b"\\": b"\\",
}


@dataclass
class Pdf:
    """What the tests look at."""

    pages: int
    text: str
    info: dict[str, str]


def _stream(body: bytes) -> bytes | None:
    match = STREAM.search(body)
    if match is None:
        return None
    data = match.group(1)
    return zlib.decompress(data) if b"/FlateDecode" in body[: match.start()] else data


def _literal(data: bytes, start: int) -> tuple[bytes, int]:
    """The PDF literal string opening at data[start] == '(' and the index after it."""
    out, depth, i = bytearray(), 1, start + 1
    while depth:
        char = data[i : i + 1]
        if char == b"\\":
            nxt = data[i + 1 : i + 2]
            if nxt.isdigit():
                digits = re.match(rb"[0-7]{1,3}", data[i + 1 : i + 4])
                assert digits is not None
                out.append(int(digits.group(0), 8))
                i += 1 + len(digits.group(0))
                continue
            out += ESCAPES.get(nxt, nxt)
            i += 2
            continue
        if char == b"(":
            depth += 1
        elif char == b")":
            depth -= 1
            if not depth:
                break
        out += char
        i += 1
    return bytes(out), i + 1


def _cmap(data: bytes) -> dict[int, str]:
    found: dict[int, str] = {}
    for block in re.findall(rb"beginbfchar(.*?)endbfchar", data, re.S):
        for code, uni in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            found[int(code, 16)] = bytes.fromhex(uni.decode()).decode("utf-16-be")
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", data, re.S):
        for low, high, uni in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            first = int(uni, 16)
            for offset, code in enumerate(range(int(low, 16), int(high, 16) + 1)):
                found[code] = chr(first + offset)
    return found


def _info_value(raw: bytes) -> str:
    if raw.startswith(b"<"):
        data = bytes.fromhex(raw.strip(b"<>").decode())
        return data[2:].decode("utf-16-be") if data.startswith(b"\xfe\xff") else data.decode("latin-1")
    value, _ = _literal(raw, 0)
    return value[2:].decode("utf-16-be") if value.startswith(b"\xfe\xff") else value.decode("latin-1")


def read_pdf(data: bytes) -> Pdf:
    """The pages' text (one line per shown string, in drawing order), the page count and the Info."""
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF"), "not a complete PDF file"
    objects = {int(num): body for num, body in OBJECT.findall(data)}
    unicode_of = {}
    for num, body in objects.items():
        ref = re.search(rb"/ToUnicode (\d+) 0 R", body)
        if b"/Type /Font" in body and ref:
            unicode_of[num] = _cmap(_stream(objects[int(ref.group(1))]) or b"")
    font_refs = dict(re.findall(rb"/(F\d+) (\d+) 0 R", data))
    lines: list[str] = []
    pages = [body for body in objects.values() if re.search(rb"/Type /Page\b", body)]
    for page in pages:
        contents = re.search(rb"/Contents (\d+) 0 R", page)
        assert contents is not None
        _show(_stream(objects[int(contents.group(1))]) or b"", font_refs, unicode_of, lines)
    info: dict[str, str] = {}
    for body in objects.values():
        for key, raw in re.findall(
            rb"/(Title|Subject|Creator|Producer) (<[0-9A-Fa-f]*>|\((?:\\.|[^\\)])*\))", body
        ):
            info[key.decode()] = _info_value(raw)
    return Pdf(pages=len(pages), text="\n".join(lines), info=info)


def _show(
    content: bytes, font_refs: dict[bytes, bytes], unicode_of: dict[int, dict[int, str]], lines: list[str]
) -> None:
    font: dict[int, str] | None = None
    i = 0
    while i < len(content):
        if content[i : i + 1] == b"/":
            match = re.match(rb"/(F\d+) [\d.]+ Tf", content[i:])
            if match:
                ref = font_refs.get(match.group(1))
                font = unicode_of.get(int(ref)) if ref else None
                i += match.end()
                continue
        if content[i : i + 1] == b"(":
            raw, i = _literal(content, i)
            if font is None:
                lines.append(raw.decode("latin-1"))
            else:
                codes = [int.from_bytes(raw[j : j + 2], "big") for j in range(0, len(raw), 2)]
                lines.append("".join(font.get(code, "?") for code in codes))
            continue
        i += 1
