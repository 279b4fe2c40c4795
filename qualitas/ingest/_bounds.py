"""Bounds on what an input file may make us do, checked before a parser opens it.

* XML (RDF/XML, IPC-1752A, the XML parts of an XLSX workbook) may not have a DTD:
  a document type declaration is where entities are declared, and entities are how
  a 1 KB file expands into gigabytes ("billion laughs") or reads local files (XXE).
  Only the prolog can hold one (XML 1.0 §2.8, https://www.w3.org/TR/xml/#sec-prolog-dtd),
  so the check stops at the root element's start tag.
* XLSX is a ZIP archive: before openpyxl opens it, every member's declared size, the
  bytes it really inflates to and its compression ratio are checked, so a zip bomb
  (a small file that inflates to gigabytes) is refused without being inflated; so are
  merged ranges covering more than :data:`MAX_XLSX_MERGED_CELLS` cells (openpyxl makes
  an object per covered cell).
* Numbers: finite and within 1e±:data:`MAX_EXPONENT` (:func:`number_problem`).
* JSON: nesting deeper than Python's parser reads, integers longer than Python reads
  (``sys.get_int_max_str_digits``) and strings holding lone surrogates or control
  characters are refused with the file and the place (line and column, or JSON path).

Each refusal is a :class:`~qualitas.errors.ParseError` (or ``ValidationError``)
naming the file, and the member or line, so every surface reports it with its
documented code (CLI exit 65, HTTP 422).
"""

from __future__ import annotations

import re
import struct
import sys
import zipfile
import zlib
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from xml.parsers import expat

from qualitas.errors import ParseError

#: Largest uncompressed size of one XLSX member, and of all members together.
MAX_XLSX_MEMBER_BYTES = 128 << 20
MAX_XLSX_TOTAL_BYTES = 256 << 20
#: Highest compression ratio (uncompressed / compressed) of a member over
#: :data:`RATIO_FLOOR_BYTES`; spreadsheet XML deflates 5-30x, a zip bomb 1000x.
MAX_XLSX_RATIO = 100
RATIO_FLOOR_BYTES = 1 << 20
MAX_XLSX_MEMBERS = 10_000
#: Most cells a worksheet's merged ranges may cover: openpyxl makes an object for every
#: covered cell when it opens the sheet, so ``D2:XFD1048576`` (30 bytes) would be 17 billion.
MAX_XLSX_MERGED_CELLS = 1_000_000
#: JSON nesting named in the refusal of a document too deep for Python's parser (which
#: stops near ``sys.getrecursionlimit()``); EPCIS and table exports need under 20 levels.
MAX_JSON_DEPTH = 512

_CHUNK = 1 << 16


class _RootReached(Exception):
    """The prolog is over: no DTD can follow."""


class _DtdFound(Exception):
    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.message, self.line = message, line


def _prolog_parser() -> expat.XMLParserType:
    parser = expat.ParserCreate()

    def doctype(name: str, sysid: str | None, pubid: str | None, has_internal_subset: int) -> None:
        # Raised at the end of the DTD when it declared no entity (the entity handler
        # raises first otherwise), so the message names what the DTD tried to do.
        pass

    def entity(
        name: str,
        is_parameter: int,
        value: str | None,
        base: str | None,
        sysid: str | None,
        pubid: str | None,
        notation: str | None,
    ) -> None:
        shown = f"%{name}" if is_parameter else name
        if sysid or pubid:
            message = (
                f"refused: the XML declares the external entity {shown!r} ({sysid or pubid}); "
                "external entities (XXE) can read local files or URLs and are never resolved"
            )
        else:
            message = (
                f"refused: the XML declares the entity {shown!r}; entity declarations "
                "(entity expansion, 'billion laughs') and DTDs are not allowed"
            )
        raise _DtdFound(message, parser.CurrentLineNumber)

    def end_doctype() -> None:
        raise _DtdFound(
            "refused: the XML has a document type declaration (<!DOCTYPE ...>); DTDs are not allowed "
            "(they can declare entities that expand without limit)",
            parser.CurrentLineNumber,
        )

    def start(name: str, attributes: object) -> None:
        raise _RootReached

    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = entity
    parser.EndDoctypeDeclHandler = end_doctype
    parser.StartElementHandler = start
    return parser


_PROLOG_KEPT = 1 << 20
_DTD_BYTES = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


class XmlPrologCheck:
    """Feed an XML document in chunks; raises ParseError if its prolog has a DTD.

    ``done`` turns true at the root element's start tag: the rest need not be fed.
    A document expat cannot read is left to the real parser to report, unless its
    first MiB holds ``<!DOCTYPE`` or ``<!ENTITY``.
    """

    def __init__(self, file: str | Path, *, member: str | None = None) -> None:
        self.file, self.member = file, member
        self.done = False
        self._parser = _prolog_parser()
        self._seen = b""

    def feed(self, chunk: bytes, *, final: bool = False) -> None:
        if self.done:
            return
        if len(self._seen) < _PROLOG_KEPT:  # what the fallback below searches
            self._seen += chunk[: _PROLOG_KEPT - len(self._seen)]
        try:
            self._parser.Parse(chunk, final)
        except _RootReached:
            self.done = True
        except _DtdFound as exc:
            self._refuse(exc.message, exc.line)
        except (expat.ExpatError, LookupError, ValueError):  # LookupError: an encoding Python lacks
            self.done = True
            if _DTD_BYTES.search(self._seen):
                self._refuse("refused: the XML has a DTD or entity declaration, which are not allowed", None)

    def _refuse(self, message: str, line: int | None) -> None:
        if self.member is not None:
            raise ParseError(f"workbook part {self.member!r}: {message}", file=self.file)
        raise ParseError(message, file=self.file, line=line)


def check_xml_file(path: Path) -> None:
    """Refuse ``path`` if it has a DTD (reads only up to the root element)."""
    check = XmlPrologCheck(path)
    try:
        with Path(path).open("rb") as fh:
            while not check.done:
                chunk = fh.read(_CHUNK)
                check.feed(chunk, final=not chunk)
                if not chunk:
                    break
    except OSError as exc:
        raise ParseError(f"cannot read the file ({exc.strerror})", file=path) from exc


# ---------------------------------------------------------------- XLSX

_checked: dict[tuple[str, int, int, int], None] = {}


def check_xlsx(path: Path) -> None:
    """Refuse an XLSX that is not a ZIP archive, is a zip bomb, or has a DTD in a part.

    Declared sizes come from the central directory; the actual sizes are counted while
    inflating each member in 64 KiB steps (stopping at the limit), so a member that lies
    about its size is refused too. A passing file is remembered by its size and mtime,
    since detection and parsing open the workbook several times.
    """
    path = Path(path)
    try:
        stat = path.stat()
    except OSError as exc:
        raise ParseError(f"cannot read the file ({exc.strerror})", file=path) from exc
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns, stat.st_ino)
    if key in _checked:
        return
    if stat.st_size == 0:
        raise ParseError("the file is empty (0 bytes); an XLSX workbook is a ZIP archive", file=path)
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError) as exc:
        raise ParseError(
            f"not an XLSX workbook: the file is not a ZIP archive ({exc}); save it from Excel as .xlsx, or export CSV",
            file=path,
        ) from exc
    with archive:
        members = archive.infolist()
        _check_declared(path, members)
        total = 0
        for info in members:
            if info.is_dir():
                continue
            total += _inflate(path, archive, info, MAX_XLSX_TOTAL_BYTES - total)
    if len(_checked) > 256:
        _checked.clear()
    _checked[key] = None


def _check_declared(path: Path, members: list[zipfile.ZipInfo]) -> None:
    if len(members) > MAX_XLSX_MEMBERS:
        raise ParseError(f"not an XLSX workbook: {len(members)} parts (at most {MAX_XLSX_MEMBERS})", file=path)
    total = 0
    for info in members:
        if info.file_size > MAX_XLSX_MEMBER_BYTES:
            raise ParseError(
                f"refused: workbook part {info.filename!r} declares {info.file_size:,} bytes uncompressed "
                f"(at most {MAX_XLSX_MEMBER_BYTES:,}); a zip bomb or a sheet too large to read, export CSV",
                file=path,
            )
        if info.file_size > RATIO_FLOOR_BYTES and info.file_size > MAX_XLSX_RATIO * max(info.compress_size, 1):
            ratio = info.file_size / max(info.compress_size, 1)
            raise ParseError(
                f"refused: workbook part {info.filename!r} inflates {ratio:,.0f}x ({info.compress_size:,} -> "
                f"{info.file_size:,} bytes; at most {MAX_XLSX_RATIO}x); a zip bomb",
                file=path,
            )
        total += info.file_size
    if total > MAX_XLSX_TOTAL_BYTES:
        raise ParseError(
            f"refused: the workbook's parts declare {total:,} bytes uncompressed (at most {MAX_XLSX_TOTAL_BYTES:,}); "
            "a zip bomb or a workbook too large to read, export CSV",
            file=path,
        )


_WORKSHEET = re.compile(r"xl/worksheets/[^/]+\.xml")
_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="\$?([A-Z]{1,3})\$?(\d{1,7}):\$?([A-Z]{1,3})\$?(\d{1,7})"')


def _column(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


class _MergeTally:
    """Adds up the cells a worksheet's ``<mergeCell ref="A1:C3"/>`` ranges cover, as the
    part streams by, and refuses past :data:`MAX_XLSX_MERGED_CELLS`."""

    def __init__(self, path: Path, member: str) -> None:
        self.path, self.member = path, member
        self.cells = 0
        self._tail = b""

    def feed(self, chunk: bytes) -> None:
        buffer = self._tail + chunk
        end = 0
        for match in _MERGE.finditer(buffer):
            first_col, first_row, last_col, last_row = match.groups()
            rows = abs(int(last_row) - int(first_row)) + 1
            columns = abs(_column(last_col) - _column(first_col)) + 1
            self.cells += rows * columns
            end = match.end()
        if self.cells > MAX_XLSX_MERGED_CELLS:
            raise ParseError(
                f"refused: worksheet part {self.member!r} merges ranges covering {self.cells:,} cells "
                f"(at most {MAX_XLSX_MERGED_CELLS:,}); unmerge them or export CSV",
                file=self.path,
            )
        self._tail = buffer[max(end, len(buffer) - 200) :]  # a tag cut by the chunk boundary


def _inflate(path: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: int) -> int:
    """Inflate one member from its raw bytes in steps, counting what it really holds
    (zipfile would stop at the declared size) and checking an XML part's prolog."""
    name = info.filename
    xml = name.lower().endswith((".xml", ".rels", ".vml"))
    check = XmlPrologCheck(path, member=name) if xml else None
    merges = _MergeTally(path, name) if _WORKSHEET.fullmatch(name.lower()) else None
    limit = min(info.file_size, budget)
    if info.flag_bits & 0x1:
        raise ParseError(f"not a readable XLSX workbook: part {name!r} is encrypted", file=path)
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise ParseError(
            f"not a readable XLSX workbook: part {name!r} uses compression method {info.compress_type} "
            "(XLSX parts are stored or deflated)",
            file=path,
        )
    fp = archive.fp
    assert fp is not None
    size = 0
    try:
        fp.seek(info.header_offset)
        header = fp.read(30)
        if len(header) < 30 or header[:4] != b"PK\x03\x04":
            raise zipfile.BadZipFile("no local header where the directory points")
        name_length, extra_length = struct.unpack("<HH", header[26:30])
        fp.seek(info.header_offset + 30 + name_length + extra_length)
        remaining = info.compress_size
        inflater = zlib.decompressobj(-15) if info.compress_type == zipfile.ZIP_DEFLATED else None
        pending = b""
        while True:
            if not pending:
                if remaining <= 0:
                    break
                pending = fp.read(min(_CHUNK, remaining))
                if not pending:
                    raise zipfile.BadZipFile("the archive ends inside this part")
                remaining -= len(pending)
            if inflater is None:
                out, pending = pending, b""
            else:
                out = inflater.decompress(pending, _CHUNK)
                pending = inflater.unconsumed_tail
            size += len(out)
            if size > limit:
                past = "its declared size" if size > info.file_size else "the limit for all parts together"
                raise ParseError(
                    f"refused: workbook part {name!r} inflates past {past} ({limit:,} bytes); a zip bomb",
                    file=path,
                )
            if check is not None:
                check.feed(out)
            if merges is not None:
                merges.feed(out)
            if inflater is not None and inflater.eof:
                break
        if check is not None:
            check.feed(b"", final=True)
    except (zipfile.BadZipFile, OSError, struct.error, zlib.error) as exc:
        raise ParseError(f"not a readable XLSX workbook: part {name!r} is damaged ({exc})", file=path) from exc
    if size != info.file_size:
        raise ParseError(
            f"not a readable XLSX workbook: part {name!r} declares {info.file_size:,} bytes but holds {size:,}",
            file=path,
        )
    return size


# ---------------------------------------------------------------- numbers, text and JSON

#: Numbers are refused beyond 1e±MAX_EXPONENT in size: a 64-bit float ends near 1e308,
#: so a quantity of 1e400 (or a JSON ``1e400``, read as infinity) overflows every
#: consumer that computes with it.
MAX_EXPONENT = 300


def number_problem(number: Decimal) -> str | None:
    """Why ``number`` is refused (not finite, or out of range), or None."""
    if not number.is_finite():
        return f"expected a finite number, got {number}"
    if number and not -MAX_EXPONENT <= number.adjusted() <= MAX_EXPONENT:
        return (
            f"the number {number} is out of range (at most 1e{MAX_EXPONENT} and, unless zero, "
            f"at least 1e-{MAX_EXPONENT} in size)"
        )
    return None


_BAD_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def bad_character(text: str) -> str | None:
    """A description of the first character no identifier or text field may hold (a
    control character other than tab and line breaks, or a lone UTF-16 surrogate,
    which cannot be stored as UTF-8), or None."""
    match = _BAD_CHARS.search(text)
    if match is None:
        return None
    char = match.group()
    kind = "a lone UTF-16 surrogate" if "\ud800" <= char <= "\udfff" else "a control character"
    return f"holds {kind} (U+{ord(char):04X}) at character {match.start() + 1}"


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _too_deep(text: str) -> int:
    """The offset where nesting first passes :data:`MAX_JSON_DEPTH` (strings skipped)."""
    depth = 0
    for match in re.finditer(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                return match.start()
        elif token in "]}":
            depth -= 1
    return 0


def load_json(data: bytes, *, file: str | Path) -> object:
    """Parse a JSON file's bytes; every refusal names the file and the place.

    Refused: text that is not UTF-8, a syntax error (line and column), nesting deeper
    than :data:`MAX_JSON_DEPTH`, a number too long to read, and a string or key with a
    control character or a lone surrogate (named by its JSON path).
    """
    import json

    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParseError(f"not UTF-8 ({exc.reason} at byte {exc.start})", file=file) from exc
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(f"column {exc.colno}: {exc.msg}", file=file, line=exc.lineno) from exc
    except RecursionError:
        # The parser recurses per level; name where the nesting passes MAX_JSON_DEPTH.
        line, column = _position(text, _too_deep(text))
        raise ParseError(
            f"column {column}: JSON nested deeper than {MAX_JSON_DEPTH} levels", file=file, line=line
        ) from None
    except ValueError as exc:  # an integer past sys.get_int_max_str_digits()
        long = re.search(r"\d{" + str(sys.get_int_max_str_digits() + 1) + ",}", text)
        line, column = _position(text, long.start()) if long else (None, None)
        where = f"column {column}: " if column else ""
        raise ParseError(
            f"{where}a number with {len(long.group()) if long else 'too many'} digits; "
            f"at most {sys.get_int_max_str_digits()} digits are read",
            file=file,
            line=line,
        ) from exc
    for where, value, is_key in walk_json(document):
        problem = bad_character(value)
        if problem:
            what = "the key" if is_key else "the value"
            raise ParseError(f"{where or 'the document'}: {what} {problem}", file=file)
    return document


def walk_json(document: object) -> Iterator[tuple[str, str, bool]]:
    """(path, text, is_key) of every string value and key in ``document``, without recursion."""
    stack: list[tuple[str, object]] = [("", document)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                here = f"{where}.{key}" if where else str(key)
                yield here, str(key), True
                stack.append((here, item))
        elif isinstance(value, list):
            stack.extend((f"{where}[{i}]", item) for i, item in enumerate(value))
        elif isinstance(value, str):
            yield where, value, False
