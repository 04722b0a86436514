"""Streaming readers for the ledgers people actually keep (ledgers.md §1): ``.xlsx``, ``.xls`` and
``.csv`` (UTF-8 with or without BOM, else GB18030/GBK).

``open_table`` checks the file (``safety.check_file``), opens its sheet, finds the header row and
returns a ``Table`` whose ``rows()`` yields one ``SheetRow`` per data row. Invariants:

* ``SheetRow.number`` is the spreadsheet row number: 1-based, title rows count, so the first data
  row under a header in row 3 is row 4;
* ``values`` is keyed by the canonical header (aliases and spacing resolved) or, for an unknown
  column, by its header text; every column with a header has a key (None when the cell is empty),
  columns without one are ignored;
* a value in a merged range applies to every cell of the range (down and right), for ranges whose
  top-left cell is below the header row;
* fully empty rows are skipped silently; totals rows (合计/总计/小计) are skipped and their numbers
  listed in ``Table.skipped_totals`` for a warning;
* ``numeric_cells`` names the columns whose cell was stored as a number (an ID number stored that
  way has already lost its last digits: ``id_numeric_cell``); in a CSV, text in Excel's
  scientific notation (``1.50121E+17``) counts, since that is what Excel writes for such a cell;
* formulas are never evaluated: ``.xlsx`` cells give their cached values (``data_only``), a
  formula without one reads as empty;
* memory is flat in the number of rows: rows are yielded, never collected. For ``.xlsx`` the
  shared strings are spilled, encrypted, to a temporary file (4 bytes a string stay in memory)
  and merged ranges take 16 bytes each; ``.xls`` is at most 65,536 rows and xlrd loads a sheet
  whole;
* a stored upload is read from its decrypted stream (``storage.open_decrypted``): no plain copy
  of it, or of its shared strings, is ever written to disk.

Every failure to read is ``UnreadableFile(code, message)`` (``import_ledger`` exit code 2).
"""

import codecs
import contextlib
import csv
import io
import operator
import re
import warnings
import zipfile
import zlib
from array import array
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import BinaryIO
from xml.parsers import expat

import xlrd
from openpyxl.reader.excel import ExcelReader
from openpyxl.styles.stylesheet import apply_stylesheet
from openpyxl.utils.cell import range_boundaries
from openpyxl.xml.constants import SHARED_STRINGS

from lowbao.imports.cells import normalise_header, normalise_text
from lowbao.imports.safety import MESSAGES, FileKind, UnreadableFile, check_file, check_stored
from lowbao.imports.xlsx_stream import (
    MERGE_NEEDLES,
    RawRow,
    SheetRows,
    SpilledStrings,
    merge_references,
    part_mentions,
    read_shared_strings,
)

HEADER_SEARCH_ROWS = 30
MAX_MERGED_RANGES = 2_000_000
CHUNK_BYTES = 64 * 1024
_TOTALS = re.compile(r"^\D{0,6}?(?:合计|总计|小计)")
# An Excel "number" written to CSV as Excel displays it: 1.50121E+17.
_SCIENTIFIC = re.compile(r"^\s*\d(?:\.\d+)?[eE]\+\d+\s*$")
_NUMBER_TYPES = (int, float)
_NO_KEYS: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class SheetRow:
    number: int
    values: dict[str, object]
    numeric_cells: frozenset[str]


@dataclass(frozen=True, slots=True)
class _Column:
    index: int
    key: str


MergeFilter = Callable[[int, int, int], bool]  # (first row, first column, last column) -> keep


@dataclass
class MergedRanges:
    """Merged ranges of one sheet that matter for the data (top-left below the header, over at
    least one named column), kept as four arrays (16 bytes a range, not a tuple each) and sorted
    by first row so they can be applied while streaming. Rows are 1-based, columns 0-based, both
    bounds inclusive. At most ``MAX_MERGED_RANGES`` are kept."""

    keep: MergeFilter | None = None
    first_rows: array = field(default_factory=lambda: array("I"))
    last_rows: array = field(default_factory=lambda: array("I"))
    first_columns: array = field(default_factory=lambda: array("I"))
    last_columns: array = field(default_factory=lambda: array("I"))

    def add(self, first_row: int, last_row: int, first_column: int, last_column: int) -> None:
        if first_row == last_row and first_column == last_column:
            return  # a one-cell "merge" changes nothing
        if self.keep is not None and not self.keep(first_row, first_column, last_column):
            return
        if len(self.first_rows) >= MAX_MERGED_RANGES:
            raise UnreadableFile(
                "too_many_merged_cells",
                f"工作表中的合并单元格超过 {MAX_MERGED_RANGES:,} 处，无法读取；请取消合并后再导入",
            )
        self.first_rows.append(first_row)
        self.last_rows.append(last_row)
        self.first_columns.append(first_column)
        self.last_columns.append(last_column)

    def __len__(self) -> int:
        return len(self.first_rows)

    def sort(self) -> None:
        rows = self.first_rows
        if all(rows[index] <= rows[index + 1] for index in range(len(rows) - 1)):
            return
        order = sorted(range(len(rows)), key=rows.__getitem__)
        for name in ("first_rows", "last_rows", "first_columns", "last_columns"):
            old = getattr(self, name)
            setattr(self, name, array("I", (old[index] for index in order)))

    def __iter__(self) -> Iterator[tuple[int, int, int, int]]:
        """(first row, last row, first column, last column), in first-row order once sorted."""
        for index in range(len(self.first_rows)):
            yield (
                self.first_rows[index],
                self.last_rows[index],
                self.first_columns[index],
                self.last_columns[index],
            )


class _Source:
    """One sheet of one file: raw rows from row 1, on demand, as often as asked."""

    sheet_name: str = ""
    encoding: str | None = None

    def raw_rows(self) -> Iterator[RawRow]:
        raise NotImplementedError

    def merged_ranges(self, keep: MergeFilter) -> MergedRanges:
        return MergedRanges(keep)

    def close(self) -> None:
        """Release the file; the default source holds nothing open."""


class Table:
    """One sheet with its header found. Use as a context manager (or call ``close``); ``rows()``
    streams the data rows and may be called more than once (each call reads the sheet again)."""

    def __init__(
        self,
        source: _Source,
        *,
        kind: FileKind,
        header_row_number: int,
        columns: list[_Column],
        unknown_columns: list[str],
        duplicate_columns: list[str],
    ) -> None:
        self._source = source
        self._columns = columns
        self._merges: MergedRanges | None = None
        self.kind = kind
        self.sheet_name = source.sheet_name
        self.encoding = source.encoding
        self.header_row_number = header_row_number
        self.headers = [column.key for column in columns]
        self.unknown_columns = unknown_columns
        self.duplicate_columns = duplicate_columns
        self.skipped_totals: list[int] = []

    def __enter__(self) -> "Table":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._source.close()

    def rows(self) -> Iterator[SheetRow]:
        """Data rows below the header, in sheet order; ``skipped_totals`` is refilled each pass."""
        self.skipped_totals = []
        columns = self._columns
        if self._merges is None:
            indexes = [column.index for column in columns]
            header_row = self.header_row_number

            def wanted(first_row: int, first_column: int, last_column: int) -> bool:
                return first_row > header_row and any(
                    first_column <= index <= last_column for index in indexes
                )

            self._merges = self._source.merged_ranges(wanted)
        pending = iter(self._merges)
        upcoming = next(pending, None)
        # Merged values being spread, by column index: (last row, value, stored as a number).
        # Merged ranges cannot overlap, so one per column; a file that claims otherwise keeps
        # the first, and the work per row stays bounded by the number of columns.
        spreading: dict[int, tuple[int, object, bool]] = {}
        keys = [column.key for column in columns]
        key_at = {column.index: column.key for column in columns}
        # The named cells of a row at C speed (itemgetter of one index returns the bare value).
        width_needed = max(key_at, default=-1) + 1
        pick: Callable[[list[object]], Sequence[object]] = (
            operator.itemgetter(*key_at)
            if len(key_at) > 1
            else lambda cells: [cells[index] for index in key_at]
        )
        for number, cells, numeric in self._source.raw_rows():
            if number <= self.header_row_number:
                continue
            if spreading:
                spreading = {key: item for key, item in spreading.items() if item[0] >= number}
            while upcoming is not None and upcoming[0] <= number:
                first_row, last_row, first_column, last_column = upcoming
                if last_row >= number:
                    here = first_row == number and first_column < len(cells)
                    value = cells[first_column] if here else None
                    is_number = here and first_column in numeric
                    for column in columns:
                        if first_column <= column.index <= last_column:
                            spreading.setdefault(column.index, (last_row, value, is_number))
                upcoming = next(pending, None)
            first_text = _first_text(cells)
            if first_text is None:
                continue  # fully empty (before merged values are spread)
            # (NFKC turns no ASCII text into 合计.)
            if not first_text.isascii() and _TOTALS.match(normalise_header(first_text)):
                self.skipped_totals.append(number)
                continue
            if not spreading:
                if len(cells) < width_needed:
                    cells = [*cells, *([None] * (width_needed - len(cells)))]
                yield SheetRow(
                    number,
                    dict(zip(keys, pick(cells), strict=True)),
                    frozenset([key_at[index] for index in numeric if index in key_at])
                    if numeric
                    else _NO_KEYS,
                )
                continue
            values = {}
            numeric_keys = []
            width = len(cells)
            numeric = set(numeric)
            for column in columns:
                index = column.index
                merged = spreading.get(index)
                if merged is not None:
                    values[column.key] = merged[1]
                    if merged[2]:
                        numeric_keys.append(column.key)
                    continue
                values[column.key] = cells[index] if index < width else None
                if index in numeric:
                    numeric_keys.append(column.key)
            yield SheetRow(number, values, frozenset(numeric_keys))


def _first_text(cells: list[object]) -> str | None:
    for value in cells:
        if value is None:
            continue
        text = value if isinstance(value, str) else str(value)
        if text.strip():
            return text
    return None


# --- opening ------------------------------------------------------------------------------------


def open_table(
    source: Path | BinaryIO,
    *,
    required_headers: Sequence[str],
    optional_headers: Sequence[str] = (),
    aliases: Mapping[str, Sequence[str]] | None = None,
    sheet: str | None = None,
    max_bytes: int | None = None,
    name: str | None = None,
    sha256: str | None = None,
) -> Table:
    """Check the file, open its sheet (the first unless ``sheet`` names one) and find the header
    row: the first row among the first 30 that holds every required header. ``aliases`` maps a
    canonical header to the other spellings accepted for it; headers are compared after
    NFKC and removing every space and line break. Columns that are neither required, optional
    nor aliased are listed in ``unknown_columns``. Raises ``UnreadableFile``.

    ``source`` is a path or a seekable binary file object — a stored upload decrypted in memory
    (``storage.open_decrypted``), which the table then owns and closes; ``name`` stands for its
    file name (extension checks, a CSV's sheet name), by default its ``name``. ``sha256``, for a
    stored upload (configured limits only), is the digest its content should have: the safety
    scan is skipped when this process has passed that very content (``safety.check_stored``)."""
    if isinstance(source, str | Path):
        path = Path(source)
        try:
            stream: BinaryIO = path.open("rb")
        except OSError:
            check_file(path, max_bytes=max_bytes)  # refuses it with the reason
            raise
        name = name or path.name
    else:
        stream = source
        name = name or str(getattr(source, "name", ""))
    try:
        if sha256 is not None and max_bytes is None:
            kind = check_stored(stream, name=name, sha256=sha256)
        else:
            kind = check_file(stream, name=name, max_bytes=max_bytes)
        opened = _open_source(stream, name, kind, sheet)
    except BaseException:
        stream.close()
        raise
    try:
        return _find_header(
            opened,
            kind=kind,
            required_headers=required_headers,
            optional_headers=optional_headers,
            aliases=aliases or {},
        )
    except BaseException:
        opened.close()
        raise


def _open_source(stream: BinaryIO, name: str, kind: FileKind, sheet: str | None) -> _Source:
    """The sheet's source; it owns ``stream`` (closes it) from here on."""
    if kind == "xlsx":
        return _XlsxSource(stream, sheet)
    if kind == "xls":
        return _XlsSource(stream, sheet)
    return _CsvSource(stream, name)


def _header_key(value: object) -> str:
    return normalise_header(value).strip("*")


def _find_header(
    source: _Source,
    *,
    kind: FileKind,
    required_headers: Sequence[str],
    optional_headers: Sequence[str],
    aliases: Mapping[str, Sequence[str]],
) -> Table:
    lookup: dict[str, str] = {}
    for canonical in [*required_headers, *optional_headers, *aliases]:
        lookup.setdefault(_header_key(canonical), canonical)
    for canonical, spellings in aliases.items():
        for spelling in spellings:
            lookup.setdefault(_header_key(spelling), canonical)
    required = list(dict.fromkeys(required_headers))

    best_missing: list[str] | None = None
    seen_content = False
    with contextlib.closing(source.raw_rows()) as raw_rows:
        for number, cells, _numeric in raw_rows:
            if _first_text(cells) is None:
                continue
            seen_content = True
            if number > HEADER_SEARCH_ROWS:
                break
            found = {lookup.get(_header_key(value)) for value in cells if value is not None}
            missing = [header for header in required if header not in found]
            if not missing:
                return _table_from_header(source, kind, number, cells, lookup)
            if best_missing is None or len(missing) < len(best_missing):
                best_missing = missing
    if not seen_content:
        raise UnreadableFile("sheet_empty", f"工作表“{source.sheet_name}”是空的，没有任何数据")
    listed = "、".join(f"“{header}”" for header in best_missing or required)
    raise UnreadableFile("header_not_found", f"未找到表头：缺少{listed}列")


def _table_from_header(
    source: _Source, kind: FileKind, number: int, cells: list[object], lookup: dict[str, str]
) -> Table:
    columns: list[_Column] = []
    unknown: list[str] = []
    duplicates: list[str] = []
    taken: set[str] = set()
    for index, value in enumerate(cells):
        text = normalise_text(value)
        if not text:
            continue
        key = lookup.get(_header_key(value))
        if key is None:
            key = text
            if key not in taken:
                unknown.append(text)
        if key in taken:
            duplicates.append(text)
            continue
        taken.add(key)
        columns.append(_Column(index, key))
    return Table(
        source,
        kind=kind,
        header_row_number=number,
        columns=columns,
        unknown_columns=unknown,
        duplicate_columns=duplicates,
    )


def _sheet_not_found(sheet: str, names: Sequence[str]) -> UnreadableFile:
    listed = "、".join(f"“{name}”" for name in names) or "（无）"
    return UnreadableFile(
        "sheet_not_found", f"文件中没有名为“{sheet}”的工作表；文件中的工作表有：{listed}"
    )


def _pick_sheet(names: Sequence[str], sheet: str | None) -> int:
    if not names:
        raise UnreadableFile("sheet_empty", "文件中没有任何工作表")
    if sheet is None:
        return 0
    if sheet in names:
        return list(names).index(sheet)
    wanted = normalise_header(sheet)
    for index, name in enumerate(names):
        if normalise_header(name) == wanted:
            return index
    raise _sheet_not_found(sheet, names)


# --- .xlsx --------------------------------------------------------------------------------------


class _XlsxSource(_Source):
    """openpyxl reads the workbook part, the styles (which number formats are dates) and the
    1900/1904 epoch. The worksheet XML itself is streamed by ``xlsx_stream.SheetRows``,
    with openpyxl's cell semantics: openpyxl's own read-only loop keeps about 80 bytes a row
    until the end, scans a whole sheet at load time when ``<dimension>`` is missing, and spends
    most of an import's time building objects per cell."""

    def __init__(self, stream: BinaryIO, sheet: str | None) -> None:
        self._strings = SpilledStrings()
        # A file object, not the path: openpyxl would refuse by its extension an .xlsx that was
        # renamed .xls or .csv, and check_file has already decided from the content. A stored
        # upload is read this way from its decrypted stream (zipfile seeks within it).
        self._file = stream
        stream.seek(0)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # openpyxl warns about styles and extensions
                self._reader = _WorkbookReader(self._strings, self._file)
                self._reader.load()
        except UnreadableFile:
            self.close()
            raise
        except Exception as exc:  # openpyxl raises many kinds on a damaged package
            self.close()
            raise UnreadableFile("bad_zip", MESSAGES["bad_zip"]) from exc
        sheets = self._reader.sheet_parts
        try:
            index = _pick_sheet([name for name, _part in sheets], sheet)
        except UnreadableFile:
            self.close()
            raise
        self.sheet_name, self._part = sheets[index]

    def raw_rows(self) -> Iterator[RawRow]:
        workbook = self._reader.wb
        sheet = SheetRows(
            self._strings,
            epoch=workbook.epoch,
            date_styles=workbook._date_formats,  # set by openpyxl's apply_stylesheet
            timedelta_styles=workbook._timedelta_formats,
        )
        try:
            with self._reader.archive.open(self._part) as stream:
                yield from sheet.read(stream)
        except (
            zipfile.BadZipFile,
            zlib.error,
            EOFError,
            KeyError,
            expat.ExpatError,
            IndexError,  # a shared-string index past the table
            ValueError,  # a bad cell or row reference
            TypeError,
        ) as exc:
            raise UnreadableFile("bad_zip", MESSAGES["bad_zip"]) from exc

    def merged_ranges(self, keep: MergeFilter) -> MergedRanges:
        """``<mergeCells>`` comes after ``<sheetData>``, so the worksheet part is streamed once
        more before the rows: first as bytes (most sheets have no merge at all and skip the XML
        pass), then through expat with a handler for ``<mergeCell>`` only."""
        merges = MergedRanges(keep)
        archive = self._reader.archive
        try:
            with archive.open(self._part) as stream:
                if not part_mentions(stream, MERGE_NEEDLES):
                    return merges
            with archive.open(self._part) as stream:
                for reference in merge_references(stream):
                    _add_merge(merges, reference)
        except (zipfile.BadZipFile, zlib.error, EOFError, KeyError, expat.ExpatError) as exc:
            raise UnreadableFile("bad_zip", MESSAGES["bad_zip"]) from exc
        merges.sort()
        return merges

    def close(self) -> None:
        reader = getattr(self, "_reader", None)
        if reader is not None:
            reader.archive.close()
        self._strings.close()
        self._file.close()


def _add_merge(merges: MergedRanges, reference: str) -> None:
    try:
        min_col, min_row, max_col, max_row = range_boundaries(reference)
    except (ValueError, TypeError):
        return
    if min_col and min_row and max_col and max_row:
        merges.add(min_row, max_row, min_col - 1, max_col - 1)


class _WorkbookReader(ExcelReader):
    """The parts of openpyxl's reader that this module needs: manifest, shared strings (spilled
    to disk), workbook (sheet names and parts, epoch) and stylesheet (date formats). Worksheets
    are not opened here; chart sheets are left out."""

    def __init__(self, strings: SpilledStrings, file: io.BufferedReader) -> None:
        super().__init__(file, read_only=True, data_only=True, keep_links=False)
        self.shared_strings = strings
        self.sheet_parts: list[tuple[str, str]] = []

    def load(self) -> None:
        self.read_manifest()
        self.read_strings()
        self.read_workbook()
        apply_stylesheet(self.archive, self.wb)
        self.sheet_parts = [
            (sheet.name, relation.target)
            for sheet, relation in self.parser.find_sheets()
            if relation.target in self.valid_files and "chartsheet" not in relation.Type
        ]

    def read_strings(self) -> None:
        part = self.package.find(SHARED_STRINGS)
        if part is not None:
            with self.archive.open(part.PartName[1:]) as source:
                read_shared_strings(source, self.shared_strings)
        self.shared_strings.finish()


# --- .xls ---------------------------------------------------------------------------------------


class _XlsSource(_Source):
    """xlrd reads the whole file from memory (``file_contents``): an ``.xls`` is at most 65,536
    rows and xlrd loads a sheet whole anyway, and a stored upload is never written out plain."""

    def __init__(self, stream: BinaryIO, sheet: str | None) -> None:
        log = io.StringIO()
        with stream:
            stream.seek(0)
            contents = stream.read()
        try:
            try:
                self._book = xlrd.open_workbook(
                    file_contents=contents, formatting_info=True, on_demand=True, logfile=log
                )
            except NotImplementedError:  # formatting_info is not supported for every BIFF
                self._book = xlrd.open_workbook(file_contents=contents, on_demand=True, logfile=log)
        except Exception as exc:  # xlrd raises many kinds on a damaged file
            raise UnreadableFile("not_a_spreadsheet", "文件已损坏，无法作为 .xls 打开") from exc
        try:
            index = _pick_sheet(self._book.sheet_names(), sheet)
            self._sheet = self._book.sheet_by_index(index)
        except UnreadableFile:
            self._book.release_resources()
            raise
        except Exception as exc:
            self._book.release_resources()
            raise UnreadableFile("not_a_spreadsheet", "文件已损坏，无法作为 .xls 打开") from exc
        self.sheet_name = self._sheet.name

    def raw_rows(self) -> Iterator[RawRow]:
        sheet = self._sheet
        datemode = self._book.datemode
        for row_index in range(sheet.nrows):
            values: list[object] = []
            numeric: list[int] = []
            for index, cell in enumerate(sheet.row(row_index)):
                values.append(_xls_value(cell, datemode))
                if cell.ctype == xlrd.XL_CELL_NUMBER:
                    numeric.append(index)
            yield row_index + 1, values, numeric

    def merged_ranges(self, keep: MergeFilter) -> MergedRanges:
        merges = MergedRanges(keep)
        for first_row, end_row, first_column, end_column in self._sheet.merged_cells:
            merges.add(first_row + 1, end_row, first_column, end_column - 1)
        merges.sort()
        return merges

    def close(self) -> None:
        self._book.release_resources()


def _xls_value(cell: xlrd.sheet.Cell, datemode: int) -> object:
    kind = cell.ctype
    if kind in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
        return None
    if kind == xlrd.XL_CELL_TEXT:
        return cell.value or None
    if kind == xlrd.XL_CELL_DATE:
        try:
            return xlrd.xldate.xldate_as_datetime(cell.value, datemode)
        except (xlrd.xldate.XLDateError, ValueError, OverflowError):
            return cell.value
    if kind == xlrd.XL_CELL_BOOLEAN:
        return bool(cell.value)
    if kind == xlrd.XL_CELL_ERROR:
        return xlrd.error_text_from_code.get(cell.value, "#ERR")
    return cell.value


# --- .csv ---------------------------------------------------------------------------------------


class _CsvSource(_Source):
    """Text decoded from the binary stream through a text wrapper (detached, never closing the
    stream, when a pass ends)."""

    def __init__(self, stream: BinaryIO, name: str) -> None:
        self._stream = stream
        # A CSV file is one sheet: a sheet name given is ignored.
        self.sheet_name = PurePath(name).stem
        self.encoding = _detect_encoding(stream)
        with self._text() as text:
            sample = text.read(CHUNK_BYTES)
        self._delimiter = "\t" if sample.count("\t") > sample.count(",") else ","

    @contextlib.contextmanager
    def _text(self) -> Iterator[io.TextIOWrapper]:
        self._stream.seek(0)
        wrapper = io.TextIOWrapper(self._stream, encoding=self.encoding, newline="")  # type: ignore[arg-type]
        try:
            yield wrapper
        finally:
            wrapper.detach()

    def close(self) -> None:
        self._stream.close()

    def raw_rows(self) -> Iterator[RawRow]:
        with self._text() as stream:
            reader = csv.reader(stream, delimiter=self._delimiter)
            number = 0
            try:
                for record in reader:
                    number += 1
                    values: list[object] = [text if text != "" else None for text in record]
                    numeric = [
                        index
                        for index, text in enumerate(record)
                        if text and _SCIENTIFIC.match(text)
                    ]
                    yield number, values, numeric
            except csv.Error as exc:
                raise UnreadableFile(
                    "not_a_spreadsheet", f"CSV 文件格式有误（第 {number + 1} 行附近），无法读取"
                ) from exc


def _detect_encoding(stream: BinaryIO) -> str:
    """UTF-8 (with or without BOM) if the whole file decodes as UTF-8, else GB18030 (a superset
    of GBK and GB2312); UTF-16 only with a BOM. Validated over the whole file in chunks."""
    stream.seek(0)
    head = stream.read(4)
    if head.startswith(codecs.BOM_UTF8):
        candidates = ["utf-8-sig"]
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ["utf-16"]
    else:
        candidates = ["utf-8", "gb18030"]
    for encoding in candidates:
        if _decodes(stream, encoding):
            return encoding
    raise UnreadableFile(
        "bad_encoding", "无法识别 CSV 文件的文字编码；请另存为 UTF-8 或 GBK 编码的 CSV 文件后再导入"
    )


def _decodes(stream: BinaryIO, encoding: str) -> bool:
    decoder: Callable[..., str] = codecs.getincrementaldecoder(encoding)().decode
    stream.seek(0)
    try:
        while chunk := stream.read(CHUNK_BYTES * 16):
            decoder(chunk)
        decoder(b"", True)
    except UnicodeDecodeError:
        return False
    return True
