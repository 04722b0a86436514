"""The XML parts of an ``.xlsx`` read as streams (readers.md's ``_XlsxSource`` uses them): the
rows of a worksheet, the shared-string table (spilled, encrypted, to a temporary file) and the
merged ranges.

A worksheet is read by expat with two speeds. The part's prolog (everything up to
``<sheetData>``) always goes through expat, which refuses a DOCTYPE and any entity declaration,
resolves the namespaces and reads the encoding. When the part is UTF-8 and ``<sheetData>`` is in
the main namespace as the default namespace, its rows are then matched by regular expressions
that accept only a strict subset of XML: the cell and row shapes that Excel, WPS, xlsxwriter
and openpyxl write (``<c r="B4" s="1" t="s"><v>12</v></c>``, inline strings, cached formula
values), with no entity, comment, CDATA, namespace prefix or control character. Anything else
in a row (a rich-text run, ``&amp;``, an attribute in another order, whitespace between cells, a
malformed tag) sends that row to expat, fed the saved prolog and then the row; whatever expat
cannot finish inside the row (a comment that spans rows, a damaged file) stays with expat until
the end of ``<sheetData>``. So every byte of a row is either matched by the strict subset or
parsed by expat, and both give the same values (the tests read the same sheets both ways).
"""

import datetime
import functools
import io
import itertools
import os
import re
import tempfile
from array import array
from collections.abc import Callable, Iterator, Sequence
from xml.parsers import expat

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from openpyxl.utils.datetime import from_excel, from_ISO8601
from openpyxl.xml.constants import SHEET_MAIN_NS

from lowbao.imports.safety import MESSAGES, UnreadableFile

CHUNK_BYTES = 64 * 1024
# The fast path reads bigger pieces: the work per piece (a decode, a few searches) is fixed.
FAST_CHUNK_BYTES = 256 * 1024
# A prolog longer than this (a huge <cols>, say) is not kept for replays: expat reads the sheet.
MAX_PROLOG_BYTES = 1024 * 1024
# A row longer than this without its </row> is left to expat (which streams it).
MAX_FAST_ROW_BYTES = 8 * 1024 * 1024
RECENT_STRINGS = 4096
COUNTER_MASK = (1 << 128) - 1  # AES-CTR's counter block wraps around
SPILL_PAGE_BYTES = 16 * 1024  # decrypted together on a lookup (a multiple of the AES block)
SPILL_PAGES = 64  # pages kept decrypted: 1 MiB
SPILL_WRITE_BYTES = 64 * 1024

# Element names as expat reports them with namespace_separator=" ".
_C_NAME = f"{SHEET_MAIN_NS} c"
_V_NAME = f"{SHEET_MAIN_NS} v"
_T_NAME = f"{SHEET_MAIN_NS} t"
_IS_NAME = f"{SHEET_MAIN_NS} is"
_SI_NAME = f"{SHEET_MAIN_NS} si"
_RPH_NAME = f"{SHEET_MAIN_NS} rPh"
_ROW_NAME = f"{SHEET_MAIN_NS} row"
_SHEET_DATA_NAME = f"{SHEET_MAIN_NS} sheetData"
_MERGE_CELL_NAME = f"{SHEET_MAIN_NS} mergeCell"
MERGE_NEEDLES = (b"mergeCell", "mergeCell".encode("utf-16-le"))

# (row number, cell values in column order from column A, indexes of cells stored as numbers)
RawRow = tuple[int, list[object], Sequence[int]]

# --- the strict subset of XML the fast path accepts -----------------------------------------------
# Character data: no markup, no entity or character reference, no carriage return (expat would
# normalise it), no character XML forbids, no "]" (so never "]]>").
_CHAR = r"[^<&\r\x00-\x08\x0b\x0c\x0e-\x1f\]\ud800-\udfff\ufffe\uffff]"
_TEXT = f"{_CHAR}*"
# A formula's text, never used but skipped: the predefined entities are allowed (A1&amp;"x").
_FORMULA = f"(?:{_CHAR}|&(?:amp|lt|gt|quot|apos);)*"
_VALUE = r'"[^"<&\r\n\t\x00-\x1f\ud800-\udfff\ufffe\uffff]*"'
_SPACE = r"[ \t\r\n]"
# A formula (its text is never used, only skipped), then the cached value or an inline string;
# the last group catches any character no cell shape starts with, which sends the row to expat.
_CELL = re.compile(
    r'<c(?: r="([A-Z]{1,3})[0-9]+")?(?: s="([0-9]+)")?(?: t="([A-Za-z]+)")?'
    r"(?:/>|>"
    rf"(?:<f(?: [A-Za-z]+={_VALUE})*(?:/>|>{_FORMULA}</f>))?"
    rf'(?:<v>({_TEXT})</v>|<is><t(?: xml:space="preserve")?>({_TEXT})</t></is>)?'
    r"</c>)"
    r"|(.)",
    re.DOTALL,
)
# The attributes of <row>, in the schema's order (so none twice); x14ac:dyDescent (Excel) only
# when the prolog bound that prefix.
_ROW_ATTRIBUTES = [
    "spans",
    "s",
    "customFormat",
    "ht",
    "hidden",
    "customHeight",
    "outlineLevel",
    "collapsed",
    "thickTop",
    "thickBot",
    "ph",
]
_SHEET_DATA_START = re.compile(rb"<sheetData[ \t\r\n]*>")
_SHEET_DATA_END = re.compile(rf"{_SPACE}*</sheetData{_SPACE}*>")
_ONLY_SPACE = re.compile(rf"{_SPACE}*\Z")


def _row_pattern(dy_descent: bool) -> "re.Pattern[str]":
    optional = "".join(f"(?: {name}={_VALUE})?" for name in _ROW_ATTRIBUTES)
    if dy_descent:
        optional += f"(?: x14ac:dyDescent={_VALUE})?"
    return re.compile(rf'{_SPACE}*<row(?: r="([0-9]+)")?{optional}{_SPACE}*(/?)>')


_ROW = _row_pattern(False)
_ROW_DY = _row_pattern(True)


class _SheetDataStart(Exception):
    """A signal out of an expat handler: <sheetData> starts, the fast path takes over."""

    def __init__(self, end: int) -> None:
        super().__init__(end)
        self.end = end


def expat_parser() -> "expat.XMLParserType":
    """An expat parser with namespaces (``"uri local"`` names). ``check_file`` refused DOCTYPE
    and ENTITY declarations already; this parser refuses them again and reads no external
    entity (expat never does unless asked)."""

    def refuse(*_args: object) -> None:
        raise UnreadableFile("xml_entity", MESSAGES["xml_entity"])

    parser = expat.ParserCreate(namespace_separator=" ")
    parser.buffer_text = True
    parser.buffer_size = CHUNK_BYTES
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    return parser


def handled_parser(
    start: Callable[[str, dict[str, str]], None],
    end: Callable[[str], None],
    characters: Callable[[str], None],
    *,
    declaration: Callable[[str, str | None, int], None] | None = None,
) -> "expat.XMLParserType":
    """``expat_parser`` with its element and character data handlers set, and the XML
    declaration's when given (a parser that reads a part's prolog)."""
    parser = expat_parser()
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = characters
    if declaration is not None:
        parser.XmlDeclHandler = declaration
    return parser


@functools.lru_cache(maxsize=4096)
def column_index(reference: str) -> int:
    """1-based column of a cell reference such as ``AB12`` (``$`` signs allowed)."""
    index = 0
    for char in reference:
        if "A" <= char <= "Z":
            index = index * 26 + ord(char) - 64
        elif "a" <= char <= "z":
            index = index * 26 + ord(char) - 96
        elif char != "$":
            break
    if index == 0:
        raise ValueError(f"{reference} is not a cell reference")
    return index


class SheetRows:
    """The rows of a worksheet part, streamed (see the module's docstring): no element tree at
    all, so memory stays flat.

    Cells read as openpyxl's ``WorkSheetParser.parse_cell`` reads them with ``data_only``:
    shared and inline strings (plain text plus rich-text runs, phonetic runs left out), numbers
    as int or float, booleans, error texts, dates from date-formatted numbers and ISO cells,
    cached formula values (formulas are never evaluated); a cell without a reference is in the
    column after the previous one, a row without a number is the row after the previous one.
    Reading stops at the end of ``<sheetData>``."""

    _watching: "expat.XMLParserType | None" = None  # the prolog's parser, until <sheetData>
    _dy_descent = False  # the prolog bound x14ac (Excel's dyDescent on every row)
    _base_depth = 0  # expat's depth inside <sheetData>, after a replayed prolog

    def __init__(
        self,
        strings: Sequence[str],
        *,
        epoch: datetime.datetime,
        date_styles: set[int],
        timedelta_styles: set[int],
        fast: bool = True,
    ) -> None:
        self._strings = strings
        self._epoch = epoch
        self._date_styles = {str(style) for style in date_styles}
        self._timedelta_styles = {str(style) for style in timedelta_styles}
        self._fast = fast
        self._ready: list[RawRow] = []
        self._done = False
        self.handed_to_expat = 0  # rows (or the rest of <sheetData>) the fast path handed over
        self._depth = 0
        self._row_number = 0
        self._values: list[object] = []
        self._numeric: list[int] = []
        self._column = 0
        self._cell: tuple[str | None, str, str | None] = (None, "n", None)
        self._text: list[str] = []
        self._inline: list[str] | None = None
        self._collect: list[str] | None = None
        self._phonetic = False
        # What the prolog told: its encoding, and the prefixes bound where <sheetData> starts.
        self._encoding: str | None = None
        self._prefixes: dict[str | None, int] = {}
        self._head: bytearray | None = bytearray() if fast else None

    # --- reading ----------------------------------------------------------------------------

    def read(self, stream: io.BufferedIOBase) -> Iterator[RawRow]:
        parser = self._parser(watch=self._fast)
        while not self._done:
            chunk = stream.read(CHUNK_BYTES)
            head = self._head
            if head is not None:
                head += chunk
                if len(head) > MAX_PROLOG_BYTES:
                    self._head = None
            try:
                parser.Parse(chunk, not chunk)
            except _SheetDataStart as start:
                yield from self._read_fast(stream, bytes(self._head or b""), start.end)
                return
            if self._ready:
                yield from self._ready
                self._ready.clear()
            if not chunk:
                break

    def _parser(self, *, watch: bool = False) -> "expat.XMLParserType":
        parser = handled_parser(
            self._start,
            self._end,
            self._characters,
            declaration=self._declaration if watch else None,
        )
        if watch:
            parser.StartNamespaceDeclHandler = self._bind
            parser.EndNamespaceDeclHandler = self._unbind
            self._watching = parser
        return parser

    def _declaration(self, _version: str, encoding: str | None, _standalone: int) -> None:
        self._encoding = encoding

    def _bind(self, prefix: str | None, _uri: str) -> None:
        self._prefixes[prefix] = self._prefixes.get(prefix, 0) + 1

    def _unbind(self, prefix: str | None) -> None:
        self._prefixes[prefix] -= 1

    def _watch_sheet_data(self) -> None:
        """At the start of <sheetData> in the prolog's parser: hand over to the fast path if
        the part allows it (raises ``_SheetDataStart`` with the end of the start tag)."""
        parser, self._watching = self._watching, None
        head = self._head
        if parser is None or head is None:
            return
        self._head = None  # kept only until here
        if head.startswith((b"\xff\xfe", b"\xfe\xff", b"\x00")):
            return  # UTF-16: expat reads it
        if (self._encoding or "utf-8").lower().replace("_", "-") not in ("utf-8", "utf8"):
            return
        start = parser.CurrentByteIndex
        tag = _SHEET_DATA_START.match(head, start)
        if tag is None:
            return  # prefixed, with attributes or empty (<sheetData/>): expat reads it
        self._head = head
        self._dy_descent = self._prefixes.get("x14ac", 0) > 0
        raise _SheetDataStart(tag.end())

    def _read_fast(self, stream: io.BufferedIOBase, head: bytes, end: int) -> Iterator[RawRow]:
        """The rows after ``head[:end]`` (the prolog, up to and including ``<sheetData>``)."""
        prolog = head[:end]
        pending = head[end:]
        self._head = None
        rows = _ROW_DY if self._dy_descent else _ROW
        at_end = False
        while True:
            chunk = b"" if at_end else stream.read(FAST_CHUNK_BYTES)
            at_end = not chunk
            buffer = pending + chunk if pending else chunk
            cut = self._cut(buffer, at_end)
            if cut is None:
                if len(buffer) <= MAX_FAST_ROW_BYTES:
                    pending = buffer
                    continue
                # A row too long to hold: expat reads the rest.
                parser = self._replay(prolog)
                parser.Parse(buffer, False)
                yield from self._slow_rest(parser, stream)
                return
            text = buffer[:cut].decode("utf-8")
            pending = buffer[cut:]
            position = self._fast_rows(text, 0, rows)
            while position is not None:
                if self._ready:
                    yield from self._ready
                    self._ready.clear()
                if self._done:
                    return
                position = yield from self._slow_row(prolog, text, position, pending, stream)
                if position is None:
                    return
                position = self._fast_rows(text, position, rows)
            if self._ready:
                yield from self._ready
                self._ready.clear()
            if self._done:
                return
            if at_end:
                # The part ended inside <sheetData>: expat says what is wrong with it.
                parser = self._replay(prolog)
                parser.Parse(pending, True)
                return

    @staticmethod
    def _cut(buffer: bytes, at_end: bool) -> int | None:
        """Where to cut ``buffer`` for the fast path: after its last ``</row>``, or after the
        first ``</sheetData ...>`` past it; the rest waits for more bytes."""
        if at_end:
            return len(buffer)
        last = buffer.rfind(b"</row>")
        closing = buffer.find(b"</sheetData", last + 1 if last >= 0 else 0)
        if closing >= 0:
            tag_end = buffer.find(b">", closing)
            if tag_end >= 0:
                return tag_end + 1
        return last + 6 if last >= 0 else None

    def _replay(self, prolog: bytes) -> "expat.XMLParserType":
        """A new expat parser that has read the prolog again (namespaces, depth)."""
        parser = self._parser()
        self._depth = 0
        parser.Parse(prolog, False)
        self._base_depth = self._depth
        return parser

    def _slow_row(
        self,
        prolog: bytes,
        text: str,
        position: int,
        pending: bytes,
        stream: io.BufferedIOBase,
    ) -> Iterator[RawRow]:
        """Expat reads the row at ``position`` of ``text``; returns where the fast path goes on,
        or None when expat read the rest of <sheetData> (or the part)."""
        self.handed_to_expat += 1
        parser = self._replay(prolog)
        row_end = text.find("</row>", position)
        stop = row_end + 6 if row_end >= 0 else len(text)
        parser.Parse(text[position:stop].encode("utf-8"), False)
        if self._ready:
            yield from self._ready
            self._ready.clear()
        if self._done:
            return None
        if row_end >= 0 and self._depth == self._base_depth:
            return stop
        # Something expat has not finished (a comment across rows, a damaged part): it reads
        # on to the end of <sheetData>.
        parser.Parse(text[stop:].encode("utf-8"), False)
        parser.Parse(pending, False)
        yield from self._slow_rest(parser, stream)
        return None

    def _slow_rest(
        self, parser: "expat.XMLParserType", stream: io.BufferedIOBase
    ) -> Iterator[RawRow]:
        """Expat reads on to the end of <sheetData> (or of the part)."""
        while not self._done:
            if self._ready:
                yield from self._ready
                self._ready.clear()
            chunk = stream.read(CHUNK_BYTES)
            parser.Parse(chunk, not chunk)
            if not chunk:
                break
        if self._ready:
            yield from self._ready
            self._ready.clear()

    def _fast_rows(self, text: str, position: int, rows: "re.Pattern[str]") -> int | None:
        """Reads rows of ``text`` from ``position`` into ``self._ready`` while they are in the
        strict subset. Returns None at the end of ``text`` (or of <sheetData>, with ``_done``
        set), else the position of the row expat must read."""
        match_row = rows.match
        find = text.find
        cells_of = _CELL.findall
        strings = self._strings
        # The strings read last, when the table keeps them (one dict lookup, no method call).
        recent = getattr(strings, "recent", _NOTHING).get
        date_styles = self._date_styles
        value_of = self._value
        ready = self._ready
        length = len(text)
        columns = _COLUMNS
        row_number = self._row_number
        while position < length:
            found = match_row(text, position)
            if found is None:
                if _SHEET_DATA_END.match(text, position):
                    self._row_number = row_number
                    self._done = True
                    return None
                if _ONLY_SPACE.match(text, position):
                    break
                self._row_number = row_number
                return position
            number_text, closed = found.groups()
            number = int(number_text) if number_text else row_number + 1
            values: list[object] = []
            numeric: list[int] = []
            if closed:
                ready.append((number, values, numeric))
                row_number = number
                position = found.end()
                continue
            row_end = find("</row>", found.end())
            if row_end < 0:
                self._row_number = row_number
                return position
            column = 0
            width = 0
            for letters, style, kind, number_value, inline, stray in cells_of(
                text, found.end(), row_end
            ):
                if stray:
                    break
                if letters:
                    column = columns.get(letters) or _column_of(letters)
                else:
                    column += 1
                if kind == "s":
                    if not number_value:
                        continue
                    value: object = recent(int(number_value)) or strings[int(number_value)]
                    if value == "":
                        continue
                    is_number = False
                elif kind == "inlineStr":
                    if not inline:
                        continue
                    value = inline
                    is_number = False
                elif not number_value:
                    continue
                elif (not kind or kind == "n") and (not style or style not in date_styles):
                    value = (
                        float(number_value)
                        if "." in number_value or "E" in number_value or "e" in number_value
                        else int(number_value)
                    )
                    is_number = True
                else:
                    value, is_number = value_of(kind or "n", style or None, number_value)
                    if value is None or value == "":
                        continue
                index = column - 1
                if index == width:
                    values.append(value)
                    width += 1
                elif index > width:
                    values.extend([None] * (index - width))
                    values.append(value)
                    width = index + 1
                else:
                    values[index] = value
                if is_number:
                    numeric.append(index)
            else:
                ready.append((number, values, numeric))
                row_number = number
                position = row_end + 6
                continue
            self._row_number = row_number
            return position  # a character no cell shape starts with
        self._row_number = row_number
        return None

    # --- expat's handlers ---------------------------------------------------------------------

    def _start(self, name: str, attributes: dict[str, str]) -> None:
        self._depth += 1
        if name == _C_NAME:
            self._cell = (attributes.get("r"), attributes.get("t", "n"), attributes.get("s"))
            self._text.clear()
            self._inline = None
        elif name == _V_NAME:
            self._collect = self._text
        elif name == _T_NAME:
            if self._inline is not None and not self._phonetic:
                self._collect = self._inline
        elif name == _IS_NAME:
            self._inline = []
        elif name == _RPH_NAME:
            self._phonetic = True
        elif name == _ROW_NAME:
            number = attributes.get("r")
            if number is None:
                self._row_number += 1
            else:
                try:
                    self._row_number = int(number)
                except ValueError:
                    as_float = float(number)
                    if not as_float.is_integer():
                        raise ValueError(f"{number} is not a valid row number") from None
                    self._row_number = int(as_float)
            self._values, self._numeric, self._column = [], [], 0
        elif name == _SHEET_DATA_NAME and self._watching is not None:
            self._watch_sheet_data()

    def _end(self, name: str) -> None:
        self._depth -= 1
        if name == _C_NAME:
            reference, kind, style = self._cell
            self._column = column_index(reference) if reference else self._column + 1
            if kind == "inlineStr":
                text = None if self._inline is None else "".join(self._inline)
            else:
                text = "".join(self._text) or None
            if text is None:
                return
            value, is_number = self._value(kind, style, text)
            if value is None or value == "":
                return
            index = self._column - 1
            values = self._values
            if index >= len(values):
                values.extend([None] * (index + 1 - len(values)))
            values[index] = value
            if is_number:
                self._numeric.append(index)
        elif name in (_V_NAME, _T_NAME):
            self._collect = None
        elif name == _ROW_NAME:
            self._ready.append((self._row_number, self._values, self._numeric))
        elif name == _RPH_NAME:
            self._phonetic = False
        elif name == _SHEET_DATA_NAME:
            self._done = True  # the rest (merges, print setup) is not rows

    def _characters(self, data: str) -> None:
        if self._collect is not None:
            self._collect.append(data)

    def _value(self, kind: str, style: str | None, text: str) -> tuple[object, bool]:
        """(value, stored as a plain number) of a cell whose text is ``text``."""
        if kind == "inlineStr":
            return text, False
        if kind == "n":
            number: int | float = (
                float(text) if "." in text or "E" in text or "e" in text else int(text)
            )
            if style is not None and style in self._date_styles:
                try:
                    return (
                        from_excel(number, self._epoch, timedelta=style in self._timedelta_styles),
                        False,
                    )
                except (OverflowError, ValueError):
                    return "#VALUE!", False  # a date serial out of range, as openpyxl reads it
            return number, True
        if kind == "s":
            return self._strings[int(text)], False
        if kind == "b":
            return bool(int(text)), False
        if kind == "d":
            return from_ISO8601(text), False
        return text, False  # "str" (a formula's text result), "e" (an error such as #N/A)


_COLUMNS: dict[str, int] = {}
_NOTHING: dict[int, str] = {}


def _column_of(letters: str) -> int:
    index = column_index(letters)
    if len(_COLUMNS) < 4096:
        _COLUMNS[letters] = index
    return index


# --- merged ranges --------------------------------------------------------------------------------


def merge_references(stream: io.BufferedIOBase) -> Iterator[str]:
    """The ``ref`` of every ``<mergeCell>`` of a worksheet part."""
    found: list[str] = []

    def start(name: str, attributes: dict[str, str]) -> None:
        if name == _MERGE_CELL_NAME:
            found.append(attributes.get("ref") or "")

    parser = expat_parser()
    parser.StartElementHandler = start
    while True:
        chunk = stream.read(CHUNK_BYTES * 4)
        parser.Parse(chunk, not chunk)
        yield from found
        found.clear()
        if not chunk:
            return


def part_mentions(stream: io.BufferedIOBase, needles: Sequence[bytes]) -> bool:
    overlap = max(len(needle) for needle in needles)
    tail = b""
    while chunk := stream.read(CHUNK_BYTES * 4):
        window = tail + chunk
        if any(needle in window for needle in needles):
            return True
        tail = window[-overlap:]
    return False


# --- shared strings -------------------------------------------------------------------------------


class SpilledStrings(Sequence[str]):
    """The shared-string table, kept in an anonymous temporary file (unlinked at creation) with
    only an array of offsets in memory: a real ledger has one shared string per distinct name, ID
    number and bank account, so openpyxl's in-memory list would grow with the rows. A lookup
    decrypts the 16 KiB page that holds the string, kept with the ``SPILL_PAGES`` pages read
    last (Excel numbers strings in the order it meets them, so a row's new strings sit together
    at the end of the table), or costs nothing for the ``RECENT_STRINGS`` strings read last (a
    ledger repeats its villages, relations and enumerations on every row).

    The file never holds plain text (quality.md S4: those strings are ID numbers): it is
    AES-256-CTR under a random key that lives only in this object's memory, so what is left on
    the disk, or read from it by anyone else while the parse runs, is noise."""

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
        self._offsets = array("I", [0])  # 4 bytes a string; "Q" once past 4 GiB of text
        # The strings read last, in two generations of at most RECENT_STRINGS each: when the
        # young one is full it becomes the old one, and a string found in the old one moves back,
        # so the strings that every row repeats stay while the one-off ones (IDs) pass through.
        self.recent: dict[int, str] = {}
        self._older: dict[int, str] = {}
        self._pages: dict[int, bytes] = {}  # page number -> plain bytes (bounded)
        self._unwritten = bytearray()
        self._key = os.urandom(32)
        self._nonce = int.from_bytes(os.urandom(16), "big")
        self._encryptor = Cipher(
            algorithms.AES(self._key), modes.CTR(self._nonce.to_bytes(16, "big"))
        ).encryptor()

    def append(self, text: str) -> None:
        data = text.encode("utf-8")
        end = self._offsets[-1] + len(data)
        if end > 0xFFFFFFFF and self._offsets.typecode == "I":
            self._offsets = array("Q", self._offsets)
        self._offsets.append(end)
        unwritten = self._unwritten
        unwritten += data
        if len(unwritten) >= SPILL_WRITE_BYTES:
            self._file.write(self._encryptor.update(unwritten))
            unwritten.clear()

    def extend(self, texts: Sequence[str]) -> None:
        """``append`` for each of ``texts``, in one go."""
        data = [text.encode("utf-8") for text in texts]
        ends = list(itertools.accumulate(map(len, data), initial=self._offsets[-1]))[1:]
        if ends and ends[-1] > 0xFFFFFFFF and self._offsets.typecode == "I":
            self._offsets = array("Q", self._offsets)
        self._offsets.extend(ends)
        unwritten = self._unwritten
        unwritten += b"".join(data)
        if len(unwritten) >= SPILL_WRITE_BYTES:
            self._file.write(self._encryptor.update(unwritten))
            unwritten.clear()

    def finish(self) -> None:
        self._file.write(self._encryptor.update(self._unwritten) + self._encryptor.finalize())
        self._unwritten.clear()
        self._file.flush()

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def _decrypt(self, start: int, size: int) -> bytes:
        """Plain bytes from ``start`` (a multiple of 16), ``size`` of them or up to the end."""
        sealed = os.pread(self._file.fileno(), size, start)
        counter = ((self._nonce + start // 16) & COUNTER_MASK).to_bytes(16, "big")
        decryptor = Cipher(algorithms.AES(self._key), modes.CTR(counter)).decryptor()
        return decryptor.update(sealed)

    def _read(self, start: int, end: int) -> bytes:
        """Plain bytes ``start:end`` of the spilled text."""
        page = start // SPILL_PAGE_BYTES
        if end <= (page + 1) * SPILL_PAGE_BYTES:
            pages = self._pages
            plain = pages.pop(page, None)  # back in as the newest
            if plain is None:
                if len(pages) >= SPILL_PAGES:
                    del pages[next(iter(pages))]  # the least recently used
                plain = self._decrypt(page * SPILL_PAGE_BYTES, SPILL_PAGE_BYTES)
            pages[page] = plain
            offset = start - page * SPILL_PAGE_BYTES
            return plain[offset : offset + end - start]
        first = start - start % 16
        plain = self._decrypt(first, end - first)
        return plain[start - first :]

    def __getitem__(self, index: int | slice) -> str | list[str]:  # type: ignore[override]
        if type(index) is not int:
            if isinstance(index, slice):
                return [self[position] for position in range(*index.indices(len(self)))]
            raise TypeError("shared string index must be an integer")
        recent = self.recent
        known = recent.get(index)
        if known is None:
            known = self._older.get(index)
        if known is not None:
            self._remember(index, known)
            return known
        offsets = self._offsets
        count = len(offsets) - 1
        position = index + count if index < 0 else index
        if not 0 <= position < count:
            raise IndexError("shared string index out of range")
        start, end = offsets[position], offsets[position + 1]
        page = start // SPILL_PAGE_BYTES
        plain = self._pages.get(page)
        if plain is not None and end <= (page + 1) * SPILL_PAGE_BYTES:
            # The page read last, as a rule (a row's new strings follow each other): no need
            # to move it up.
            offset = start - page * SPILL_PAGE_BYTES
            text = plain[offset : offset + end - start].decode("utf-8")
        else:
            text = self._read(start, end).decode("utf-8") if end > start else ""
        if len(recent) >= RECENT_STRINGS:
            self._older = dict(recent)  # ``recent`` stays the same object (callers bind .get)
            recent.clear()
        recent[index] = text
        return text

    def _remember(self, index: int, text: str) -> None:
        recent = self.recent
        if len(recent) >= RECENT_STRINGS:
            # The same dict object stays ``recent`` (callers keep its bound ``get``).
            self._older = dict(recent)
            recent.clear()
        recent[index] = text

    def close(self) -> None:
        self._file.close()
        self._pages.clear()
        self.recent.clear()
        self._older.clear()


class _SharedStrings:
    """``sharedStrings.xml`` into a ``SpilledStrings``, with the two speeds of ``SheetRows``:
    expat reads the prolog (up to the first ``<si>``); then runs of plain items
    (``<si><t>text</t></si>``, the strict subset) are matched in bulk and any other item
    (rich text, phonetic runs, entities) is read by expat, fed the prolog again."""

    def __init__(self, strings: SpilledStrings) -> None:
        self._strings = strings
        self._parts: list[str] = []
        self._item = self._text = self._phonetic = False
        self._depth = 0
        self._base_depth = 0
        self._head: bytearray | None = bytearray()
        self._encoding: str | None = None
        self._watching = False

    def _parser(self, *, watch: bool = False) -> "expat.XMLParserType":
        parser = handled_parser(
            self._start,
            self._end,
            self._characters,
            declaration=self._declaration if watch else None,
        )
        self._watching = watch
        self._parser_now = parser
        return parser

    def _declaration(self, _version: str, encoding: str | None, _standalone: int) -> None:
        self._encoding = encoding

    def _start(self, name: str, _attributes: dict[str, str]) -> None:
        self._depth += 1
        if name == _SI_NAME:
            if self._watching:
                self._watch_first_item()
            self._item = True
            self._parts.clear()
        elif name == _T_NAME:
            self._text = self._item and not self._phonetic
        elif name == _RPH_NAME:
            self._phonetic = True

    def _end(self, name: str) -> None:
        self._depth -= 1
        if name == _T_NAME:
            self._text = False
        elif name == _SI_NAME:
            self._item = False
            self._strings.append("".join(self._parts).replace("x005F_", ""))
        elif name == _RPH_NAME:
            self._phonetic = False

    def _characters(self, data: str) -> None:
        if self._text:
            self._parts.append(data)

    def _watch_first_item(self) -> None:
        self._watching = False
        head, self._head = self._head, None
        if head is None or head.startswith((b"\xff\xfe", b"\xfe\xff", b"\x00")):
            return
        if (self._encoding or "utf-8").lower().replace("_", "-") not in ("utf-8", "utf8"):
            return
        self._depth -= 1  # this <si> is read again by the fast path
        raise _SheetDataStart(self._parser_now.CurrentByteIndex)

    def read(self, source: io.BufferedIOBase) -> None:
        parser = self._parser(watch=True)
        while True:
            chunk = source.read(CHUNK_BYTES * 4)
            head = self._head
            if head is not None:
                head += chunk
                if len(head) > MAX_PROLOG_BYTES:
                    self._head = None
            try:
                parser.Parse(chunk, not chunk)
            except _SheetDataStart as start:
                self._read_fast(source, bytes(head or b""), start.end)
                return
            if not chunk:
                return

    def _replay(self, prolog: bytes) -> "expat.XMLParserType":
        parser = self._parser()
        self._depth = 0
        parser.Parse(prolog, False)
        self._base_depth = self._depth
        return parser

    def _read_fast(self, source: io.BufferedIOBase, head: bytes, start: int) -> None:
        prolog = head[:start]
        pending = head[start:]
        at_end = False
        while not at_end:
            chunk = source.read(FAST_CHUNK_BYTES)
            at_end = not chunk
            buffer = pending + chunk if pending else chunk
            cut = buffer.rfind(b"</si>")
            if cut < 0:
                if len(buffer) > MAX_FAST_ROW_BYTES or at_end:
                    parser = self._replay(prolog)
                    parser.Parse(buffer, False)
                    self._slow_rest(parser, source)
                    return
                pending = buffer
                continue
            text = buffer[: cut + 5].decode("utf-8")
            pending = buffer[cut + 5 :]
            if _ITEMS.fullmatch(text):
                self._strings.extend([item.replace("x005F_", "") for item in _ITEM.findall(text)])
                continue
            position = 0
            while position < len(text):
                found = _ITEM.match(text, position)
                if found is not None:
                    self._strings.append(found.group(1).replace("x005F_", ""))
                    position = found.end()
                    continue
                if _ONLY_SPACE.match(text, position):
                    break
                parser = self._replay(prolog)
                stop = text.find("</si>", position) + 5
                parser.Parse(text[position:stop].encode("utf-8"), False)
                if self._depth != self._base_depth:
                    parser.Parse(text[stop:].encode("utf-8"), False)
                    parser.Parse(pending, False)
                    self._slow_rest(parser, source)
                    return
                position = stop
        # The end of the table (</sst>): expat checks that it closes what the prolog opened.
        parser = self._replay(prolog)
        parser.Parse(pending, True)

    @staticmethod
    def _slow_rest(parser: "expat.XMLParserType", source: io.BufferedIOBase) -> None:
        while True:
            chunk = source.read(CHUNK_BYTES * 4)
            parser.Parse(chunk, not chunk)
            if not chunk:
                return


_ITEM_PATTERN = rf'{_SPACE}*<si><t(?: xml:space="preserve")?>{{}}{_TEXT}{{}}</t></si>'
_ITEM = re.compile(_ITEM_PATTERN.format("(", ")"))
_ITEMS = re.compile("(?:{})*".format(_ITEM_PATTERN.format("", "")))


def read_shared_strings(source: io.BufferedIOBase, strings: SpilledStrings) -> None:
    """Stream ``sharedStrings.xml`` into ``strings`` (no DTD, no entity: refused). The text of
    an ``<si>`` is its plain ``<t>`` plus the ``<t>`` of its rich-text runs; phonetic runs
    (``<rPh>``) are left out, as openpyxl does."""
    _SharedStrings(strings).read(source)
