"""Generators of good and bad ledger files for the reader, safety and pipeline tests.

Every function writes one file into ``directory`` and returns its path. Nothing here needs a
network, LibreOffice or a writer library beyond openpyxl: the OLE2 compound files (``.xls`` and
password-protected OOXML) are built byte by byte by ``write_compound_file`` and
``write_xls`` (a minimal BIFF8 workbook that xlrd reads, with merged cells, numbers and dates).
Large files (the zip bomb, the huge sheet) are written in chunks, never held in memory.
"""

import struct
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path

from openpyxl import Workbook

ROSTER_HEADERS = ["序号", "户编号", "姓名", "身份证号", "与户主关系", "苏木乡镇", "嘎查村"]
ROSTER_TITLE = "XX旗2016年农村牧区低保对象花名册"

# Valid GB 11643 numbers (check digits computed), for rows that must look real.
ID_NUMBERS = [
    "150121198001011236",
    "150121198203050027",
    "150121200510200018",
    "150121195012120013",
    "15012119900101001X",
]


# --- OOXML parts --------------------------------------------------------------------------------

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="{main}"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    "{extra}"
    "</Types>"
)
MAIN_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
MAIN_XLSM = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
SHARED_STRINGS_TYPE = (
    '<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
)
ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Target="xl/workbook.xml" Type="http://schemas.openxmlformats.org/'
    'officeDocument/2006/relationships/officeDocument"/></Relationships>'
)
WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Target="worksheets/sheet1.xml" Type="http://schemas.openxmlformats.org/'
    'officeDocument/2006/relationships/worksheet"/>{extra}</Relationships>'
)
SHARED_STRINGS_REL = (
    '<Relationship Id="rId9" Target="sharedStrings.xml" Type="http://schemas.openxmlformats.org/'
    'officeDocument/2006/relationships/sharedStrings"/>'
)
SHEET_OPEN = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
)
SIMPLE_SHEET = (
    SHEET_OPEN + '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>姓名</t></is></c></row>'
    "</sheetData></worksheet>"
)


def write_raw_xlsx(
    path: Path,
    *,
    sheet_xml: str = SIMPLE_SHEET,
    shared_strings_xml: str | None = None,
    main_content_type: str = MAIN_XLSX,
    extra_parts: Mapping[str, bytes] | None = None,
) -> Path:
    """A hand-made xlsx package: exactly the parts given, so a test controls every byte."""
    extra_types = SHARED_STRINGS_TYPE if shared_strings_xml is not None else ""
    extra_rels = SHARED_STRINGS_REL if shared_strings_xml is not None else ""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "[Content_Types].xml", CONTENT_TYPES.format(main=main_content_type, extra=extra_types)
        )
        archive.writestr("_rels/.rels", ROOT_RELS)
        archive.writestr("xl/workbook.xml", WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS.format(extra=extra_rels))
        archive.writestr("xl/worksheets/sheet1.xml", sheet_xml)
        if shared_strings_xml is not None:
            archive.writestr("xl/sharedStrings.xml", shared_strings_xml)
        for name, data in (extra_parts or {}).items():
            archive.writestr(name, data)
    return path


def write_xlsx(
    path: Path,
    rows: Iterable[Sequence[object]],
    *,
    merges: Iterable[str] = (),
    sheet_title: str = "Sheet1",
    number_formats: Mapping[str, str] | None = None,
    more_sheets: Mapping[str, Iterable[Sequence[object]]] | None = None,
) -> Path:
    """A normal workbook written by openpyxl (so it has shared strings off, inline strings on)."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = sheet_title
    for row in rows:
        sheet.append(list(row))
    for cell_range in merges:
        sheet.merge_cells(cell_range)
    for coordinate, number_format in (number_formats or {}).items():
        sheet[coordinate].number_format = number_format
    for title, other_rows in (more_sheets or {}).items():
        other = workbook.create_sheet(title)
        for row in other_rows:
            other.append(list(row))
    workbook.save(path)
    return path


# --- OLE2 compound files and BIFF8 ----------------------------------------------------------------

_SECTOR = 512
_FREE = 0xFFFFFFFF
_END_OF_CHAIN = 0xFFFFFFFE
_FAT_SECTOR = 0xFFFFFFFD
_NO_STREAM = 0xFFFFFFFF
_MINI_CUTOFF = 4096


def write_compound_file(path: Path, streams: Mapping[str, bytes]) -> Path:
    """A minimal but valid OLE2 compound file (CFB version 3, 512-byte sectors) holding the given
    top-level streams. Streams are padded to the 4096-byte mini-stream cutoff so every stream
    lives in regular sectors and no mini stream is needed."""
    names = sorted(streams, key=lambda name: (len(name), name.upper()))
    payloads = [streams[name].ljust(_MINI_CUTOFF, b"\x00") for name in names]
    directory_entries = 1 + len(names)
    directory_sectors = -(-directory_entries * 128 // _SECTOR)
    data_sectors = sum(-(-len(payload) // _SECTOR) for payload in payloads)
    fat_sectors = 1
    while fat_sectors * (_SECTOR // 4) < fat_sectors + directory_sectors + data_sectors:
        fat_sectors += 1
    if fat_sectors > 109:
        raise ValueError("streams too large for a header-only DIFAT")

    fat: list[int] = [_FAT_SECTOR] * fat_sectors
    first_directory = len(fat)
    fat.extend(range(first_directory + 1, first_directory + directory_sectors))
    fat.append(_END_OF_CHAIN)
    starts = []
    for payload in payloads:
        count = -(-len(payload) // _SECTOR)
        start = len(fat)
        starts.append(start)
        fat.extend(range(start + 1, start + count))
        fat.append(_END_OF_CHAIN)
    fat.extend([_FREE] * (fat_sectors * (_SECTOR // 4) - len(fat)))

    def entry(name: str, kind: int, child: int, right: int, start: int, size: int) -> bytes:
        encoded = (name + "\x00").encode("utf-16-le")
        return (
            encoded.ljust(64, b"\x00")
            + struct.pack("<HBB", len(encoded), kind, 1)
            + struct.pack("<III", _NO_STREAM, right, child)
            + b"\x00" * 16  # CLSID
            + b"\x00" * 4  # state bits
            + b"\x00" * 16  # created, modified
            + struct.pack("<IQ", start, size)
        )

    directory = entry("Root Entry", 5, 1 if names else _NO_STREAM, _NO_STREAM, _END_OF_CHAIN, 0)
    for index, (name, payload) in enumerate(zip(names, payloads, strict=True)):
        right = index + 2 if index + 1 < len(names) else _NO_STREAM
        directory += entry(name, 2, _NO_STREAM, right, starts[index], len(payload))
    unused = (
        b"\x00" * 64
        + struct.pack("<HBB", 0, 0, 0)
        + struct.pack("<III", _NO_STREAM, _NO_STREAM, _NO_STREAM)
        + b"\x00" * 48
    )
    while len(directory) < directory_sectors * _SECTOR:
        directory += unused

    difat = list(range(fat_sectors)) + [_FREE] * (109 - fat_sectors)
    header = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        + b"\x00" * 16
        + struct.pack("<HHHHH", 0x003E, 0x0003, 0xFFFE, 9, 6)
        + b"\x00" * 6
        + struct.pack("<IIII", 0, fat_sectors, first_directory, 0)
        + struct.pack("<IIIII", _MINI_CUTOFF, _END_OF_CHAIN, 0, _END_OF_CHAIN, 0)
        + struct.pack("<109I", *difat)
    )
    assert len(header) == _SECTOR
    with path.open("wb") as out:
        out.write(header)
        out.write(struct.pack(f"<{len(fat)}I", *fat))
        out.write(directory)
        for payload in payloads:
            out.write(payload.ljust(-(-len(payload) // _SECTOR) * _SECTOR, b"\x00"))
    return path


def _record(kind: int, data: bytes = b"") -> bytes:
    return struct.pack("<HH", kind, len(data)) + data


def _unicode(text: str, length_bytes: int) -> bytes:
    size = struct.pack("<B" if length_bytes == 1 else "<H", len(text))
    return size + b"\x01" + text.encode("utf-16-le")


def _font(name: str = "Arial") -> bytes:
    return _record(
        0x0031, struct.pack("<HHHHHBBBB", 200, 0, 0x7FFF, 400, 0, 0, 0, 0, 0) + _unicode(name, 1)
    )


def _xf(font: int, number_format: int, *, is_style: bool) -> bytes:
    type_flags = 0xFFF5 if is_style else 0x0001  # style XF (parent 0xFFF) / cell XF (parent 0)
    return _record(
        0x00E0,
        struct.pack("<HHHBBBBIIH", font, number_format, type_flags, 0x20, 0, 0, 0, 0, 0, 0x20C0),
    )


XLS_GENERAL = 15  # cell XF index with the General format
XLS_DATE = 16  # cell XF index with built-in format 14 (a date)


def write_xls(
    path: Path,
    rows: Sequence[Sequence[object]],
    *,
    merges: Iterable[tuple[int, int, int, int]] = (),
    sheet_name: str = "Sheet1",
    filepass: bool = False,
) -> Path:
    """A minimal BIFF8 workbook with one sheet, readable by xlrd with ``formatting_info=True``.

    ``rows`` hold str (LABEL records), int/float (NUMBER) and date (NUMBER with a date format);
    None leaves the cell empty. ``merges`` are 0-based inclusive (first_row, last_row, first_col,
    last_col). ``filepass`` adds a FILEPASS record as a password-protected workbook has."""
    globals_ = _record(0x0809, struct.pack("<HHHHII", 0x0600, 0x0005, 0x0DBB, 0x07CC, 0, 0x06))
    if filepass:
        globals_ += _record(0x002F, struct.pack("<HHH", 1, 1, 1) + b"\x00" * 48)
    globals_ += _record(0x0042, struct.pack("<H", 1200))  # CODEPAGE: UTF-16
    globals_ += _record(0x0022, struct.pack("<H", 0))  # DATEMODE: 1900
    for _ in range(5):
        globals_ += _font()
    for _ in range(15):
        globals_ += _xf(0, 0, is_style=True)
    globals_ += _xf(0, 0, is_style=False)  # 15: General
    globals_ += _xf(0, 14, is_style=False)  # 16: m/d/yy date
    globals_ += _record(0x0293, struct.pack("<HBB", 0x8000, 0, 0xFF))  # STYLE "Normal"
    sheet_record_at = len(globals_)
    name = _unicode(sheet_name, 1)
    globals_ += _record(0x0085, struct.pack("<IBB", 0, 0, 0) + name)
    globals_ += _record(0x000A)

    width = max((len(row) for row in rows), default=0)
    sheet = _record(0x0809, struct.pack("<HHHHII", 0x0600, 0x0010, 0x0DBB, 0x07CC, 0, 0x06))
    sheet += _record(0x0200, struct.pack("<IIHHH", 0, len(rows), 0, width, 0))
    epoch = datetime(1899, 12, 30)  # noqa: DTZ001 - Excel serial dates are naive
    for row_index, row in enumerate(rows):
        for column_index, value in enumerate(row):
            where = struct.pack("<HH", row_index, column_index)
            if value is None:
                continue
            if isinstance(value, date):
                serial = (datetime(value.year, value.month, value.day) - epoch).days  # noqa: DTZ001
                sheet += _record(0x0203, where + struct.pack("<Hd", XLS_DATE, float(serial)))
            elif isinstance(value, int | float):
                sheet += _record(0x0203, where + struct.pack("<Hd", XLS_GENERAL, float(value)))
            else:
                sheet += _record(
                    0x0204, where + struct.pack("<H", XLS_GENERAL) + _unicode(str(value), 2)
                )
    merge_list = list(merges)
    if merge_list:
        body = struct.pack("<H", len(merge_list))
        for first_row, last_row, first_col, last_col in merge_list:
            body += struct.pack("<HHHH", first_row, last_row, first_col, last_col)
        sheet += _record(0x00E5, body)
    sheet += _record(0x000A)

    position = struct.pack("<I", len(globals_))
    start = sheet_record_at + 4
    globals_ = globals_[:start] + position + globals_[start + 4 :]
    return write_compound_file(path, {"Workbook": globals_ + sheet})


# --- large files, written in chunks -------------------------------------------------------------


def _large_row_strings(index: int) -> tuple[str, str]:
    return f"成员{index}", f"1501211980{index:08d}"


def write_large_xlsx(
    path: Path,
    rows: int,
    *,
    shared_strings: bool = True,
    merged_households: bool = True,
    household_size: int = 3,
) -> Path:
    """A roster of ``rows`` data rows under a title row and a header row, streamed straight into
    the zip (never built in memory): 户编号, 姓名, 身份证号, 与户主关系. With ``shared_strings``
    every name and ID number is a distinct shared string (as Excel writes them); with
    ``merged_households`` the 户编号 cell is merged down over each household's rows."""
    fixed = ["XX旗低保花名册", "户编号", "姓名", "身份证号", "与户主关系", "户主", "子女"]
    last_row = rows + 2

    def text_cell(reference: str, text: str, shared_index: int) -> str:
        if shared_strings:
            return f'<c r="{reference}" t="s"><v>{shared_index}</v></c>'
        return f'<c r="{reference}" t="inlineStr"><is><t>{text}</t></is></c>'

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr(
            "[Content_Types].xml",
            CONTENT_TYPES.format(
                main=MAIN_XLSX, extra=SHARED_STRINGS_TYPE if shared_strings else ""
            ),
        )
        archive.writestr("_rels/.rels", ROOT_RELS)
        archive.writestr("xl/workbook.xml", WORKBOOK)
        archive.writestr(
            "xl/_rels/workbook.xml.rels",
            WORKBOOK_RELS.format(extra=SHARED_STRINGS_REL if shared_strings else ""),
        )
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(
                (
                    SHEET_OPEN + f'<dimension ref="A1:D{last_row}"/><sheetData>'
                    f'<row r="1">{text_cell("A1", fixed[0], 0)}</row><row r="2">'
                    + "".join(
                        text_cell(f"{letter}2", fixed[index], index)
                        for index, letter in enumerate("ABCD", start=1)
                    )
                    + "</row>"
                ).encode()
            )
            buffer = []
            for index in range(rows):
                number = index + 3
                household, member = divmod(index, household_size)
                name, id_number = _large_row_strings(index)
                first = member == 0 or not merged_households
                cells = [
                    f'<c r="A{number}"><v>{household + 1}</v></c>' if first else "",
                    text_cell(f"B{number}", name, len(fixed) + 2 * index),
                    text_cell(f"C{number}", id_number, len(fixed) + 2 * index + 1),
                    text_cell(
                        f"D{number}", fixed[5 if member == 0 else 6], 5 if member == 0 else 6
                    ),
                ]
                buffer.append(f'<row r="{number}">{"".join(cells)}</row>')
                if len(buffer) == 5000:
                    sheet.write("".join(buffer).encode())
                    buffer = []
            sheet.write("".join(buffer).encode())
            sheet.write(b"</sheetData>")
            if merged_households and household_size > 1:
                households = -(-rows // household_size)
                sheet.write(f'<mergeCells count="{households}">'.encode())
                for household in range(households):
                    top = household * household_size + 3
                    bottom = min(top + household_size - 1, last_row)
                    sheet.write(f'<mergeCell ref="A{top}:A{bottom}"/>'.encode())
                sheet.write(b"</mergeCells>")
            sheet.write(b"</worksheet>")
        if shared_strings:
            with archive.open("xl/sharedStrings.xml", "w", force_zip64=True) as strings:
                strings.write(
                    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                    b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                    + "".join(f"<si><t>{text}</t></si>" for text in fixed).encode()
                )
                buffer = []
                for index in range(rows):
                    name, id_number = _large_row_strings(index)
                    buffer.append(f"<si><t>{name}</t></si><si><t>{id_number}</t></si>")
                    if len(buffer) == 5000:
                        strings.write("".join(buffer).encode())
                        buffer = []
                strings.write("".join(buffer).encode() + b"</sst>")
    return path


# --- good files with the quirks of real ledgers -------------------------------------------------


def roster_rows() -> list[list[object]]:
    """A roster under two title rows (header in row 3): two households, the 户编号, 苏木乡镇 and
    嘎查村 cells filled on each household's first row only (merged down by the writers below),
    an empty row and a totals row."""
    return [
        [ROSTER_TITLE],
        ["填报单位：XX旗民政局", None, None, None, "2016年12月"],
        ROSTER_HEADERS,
        [1, "H001", "巴特尔", ID_NUMBERS[0], "户主", "察素齐镇", "一村"],
        [2, None, "其其格", ID_NUMBERS[1], "配偶", None, None],
        [3, None, "苏和", ID_NUMBERS[2], "子", None, None],
        [None] * 7,
        [4, "H002", "王五", ID_NUMBERS[3], "户主", "毕克齐镇", "二村"],
        ["合计", None, "4人", None, None, None, None],
    ]


ROSTER_MERGES_XLSX = ["A1:G1", "B4:B6", "F4:F6", "G4:G6"]
ROSTER_MERGES_XLS = [(0, 0, 0, 6), (3, 5, 1, 1), (3, 5, 5, 5), (3, 5, 6, 6)]


def write_roster_xlsx(directory: Path, name: str = "roster.xlsx") -> Path:
    return write_xlsx(directory / name, roster_rows(), merges=ROSTER_MERGES_XLSX)


def write_roster_xls(directory: Path, name: str = "roster.xls") -> Path:
    return write_xls(directory / name, roster_rows(), merges=ROSTER_MERGES_XLS)


def _roster_csv_text() -> str:
    lines = []
    for row in roster_rows():
        lines.append(",".join("" if value is None else str(value) for value in row))
    return "\r\n".join(lines) + "\r\n"


def write_csv_gbk(directory: Path, name: str = "roster_gbk.csv") -> Path:
    path = directory / name
    path.write_bytes(_roster_csv_text().encode("gbk"))
    return path


def write_csv_utf8_bom(directory: Path, name: str = "roster_bom.csv") -> Path:
    path = directory / name
    path.write_bytes(_roster_csv_text().encode("utf-8-sig"))
    return path


def write_csv_utf8(directory: Path, name: str = "roster_utf8.csv") -> Path:
    path = directory / name
    path.write_bytes(_roster_csv_text().encode("utf-8"))
    return path


def write_csv_utf16_tabs(directory: Path, name: str = "roster_utf16.csv") -> Path:
    """What Excel's "Unicode text" export writes: UTF-16 with a BOM, tab-separated."""
    path = directory / name
    path.write_bytes(_roster_csv_text().replace(",", "\t").encode("utf-16"))
    return path


def write_numeric_id_xlsx(directory: Path, name: str = "numeric_id.xlsx") -> Path:
    """身份证号 typed into a General column: Excel keeps a float with 15 significant digits."""
    rows = [
        ["户编号", "姓名", "身份证号", "与户主关系"],
        ["H001", "巴特尔", 150121198001011236, "户主"],
        ["H001", "其其格", ID_NUMBERS[1], "配偶"],
    ]
    return write_xlsx(directory / name, rows)


# --- bad files: each is refused by check_file/open_table with the code named in BAD_FILES -------


def write_zip_bomb(directory: Path, name: str = "bomb.xlsx", megabytes: int = 210) -> Path:
    """An otherwise well-formed xlsx whose sheet part inflates to ``megabytes`` MB from a few
    hundred KB (ratio ≈ 1000:1), written one MB at a time."""
    path = directory / name
    chunk = b" " * (1024 * 1024)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES.format(main=MAIN_XLSX, extra=""))
        archive.writestr("_rels/.rels", ROOT_RELS)
        archive.writestr("xl/workbook.xml", WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS.format(extra=""))
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write((SHEET_OPEN + "<sheetData>").encode())
            for _ in range(megabytes):
                sheet.write(chunk)
            sheet.write(b"</sheetData></worksheet>")
    return path


def _laughs_entities() -> str:
    lines = [' <!ENTITY lol "lol">']
    for level in range(1, 10):
        previous = f"&lol{level - 1};" if level > 1 else "&lol;"
        lines.append(f' <!ENTITY lol{level} "{previous * 10}">')
    return "\n".join(lines)


BILLION_LAUGHS = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    f"<!DOCTYPE sst [\n{_laughs_entities()}\n]>\n"
    '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" '
    'uniqueCount="1"><si><t>&lol9;</t></si></sst>'
)


def write_entity_bomb(directory: Path, name: str = "laughs.xlsx") -> Path:
    """Billion laughs in sharedStrings.xml."""
    sheet = (
        SHEET_OPEN + '<sheetData><row r="1"><c r="A1" t="s"><v>0</v></c></row></sheetData>'
        "</worksheet>"
    )
    return write_raw_xlsx(directory / name, sheet_xml=sheet, shared_strings_xml=BILLION_LAUGHS)


def write_external_entity(directory: Path, name: str = "xxe.xlsx") -> Path:
    """An external entity (XXE) in the worksheet, declared after a long harmless prefix so it
    straddles the scanner's chunk boundary."""
    sheet = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        + "<!--"
        + "x" * (64 * 1024 - 60)
        + "-->"
        + '<!DOCTYPE worksheet [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        + SHEET_OPEN.split("\n", 1)[1]
        + '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&xxe;</t></is></c></row>'
        "</sheetData></worksheet>"
    )
    return write_raw_xlsx(directory / name, sheet_xml=sheet)


def write_utf16_entity(directory: Path, name: str = "utf16_entity.xlsx") -> Path:
    """A DOCTYPE in a UTF-16 part, invisible to a scanner that only looks for ASCII bytes."""
    path = write_raw_xlsx(directory / name)
    part = (
        '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE x [<!ENTITY a "b">]>'
        '<x xmlns="urn:x">&a;</x>'
    ).encode("utf-16")
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("docProps/custom.xml", part)
    return path


VBA_PROJECT = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504  # the start of a real one


def write_macro_xlsm(directory: Path, name: str = "macros.xlsm") -> Path:
    return write_raw_xlsx(
        directory / name,
        main_content_type=MAIN_XLSM,
        extra_parts={"xl/vbaProject.bin": VBA_PROJECT},
    )


def write_macro_renamed_xlsx(directory: Path, name: str = "macros.xlsx") -> Path:
    """An .xlsm saved under an .xlsx name: vbaProject.bin gives it away."""
    return write_raw_xlsx(directory / name, extra_parts={"xl/vbaProject.bin": VBA_PROJECT})


def write_macro_content_type(directory: Path, name: str = "macro_type.xlsx") -> Path:
    """Only the content type says macro-enabled (the VBA part is named differently)."""
    return write_raw_xlsx(directory / name, main_content_type=MAIN_XLSM)


def write_xls_with_macros(directory: Path, name: str = "macros.xls") -> Path:
    path = write_xls(directory / name, [["姓名"]])
    workbook_stream = _workbook_stream(path)
    return write_compound_file(
        path, {"Workbook": workbook_stream, "_VBA_PROJECT_CUR": b"\x00" * 16}
    )


def _workbook_stream(xls_path: Path) -> bytes:
    """The Workbook stream of a file written by ``write_xls`` (its only stream)."""
    data = xls_path.read_bytes()
    first_directory = struct.unpack_from("<I", data, 48)[0]
    entry = 512 + first_directory * _SECTOR + 128  # the entry after the root
    start, size = struct.unpack_from("<IQ", data, entry + 116)
    return data[512 + start * _SECTOR : 512 + start * _SECTOR + size]


def write_encrypted_xlsx(directory: Path, name: str = "encrypted.xlsx") -> Path:
    """What Excel writes for an .xlsx with an open password: an OLE2 compound file holding the
    EncryptionInfo and EncryptedPackage streams (agile encryption, version 4.4)."""
    info = struct.pack("<HHI", 4, 4, 0x40) + b'<?xml version="1.0"?><encryption/>'
    package = struct.pack("<Q", 10_000) + bytes(range(256)) * 40
    return write_compound_file(
        directory / name, {"EncryptionInfo": info, "EncryptedPackage": package}
    )


def write_encrypted_xls(directory: Path, name: str = "encrypted.xls") -> Path:
    return write_xls(directory / name, [["姓名"], ["巴特尔"]], filepass=True)


def write_damaged_xls(directory: Path, name: str = "damaged.xls") -> Path:
    """A compound file whose Workbook stream starts like BIFF8 and then is garbage."""
    bof = _record(0x0809, struct.pack("<HHHHII", 0x0600, 0x0005, 0x0DBB, 0x07CC, 0, 0x06))
    return write_compound_file(directory / name, {"Workbook": bof + b"\xff" * 600})


def write_truncated_xlsx(directory: Path, name: str = "truncated.xlsx") -> Path:
    """An upload cut off half way: the zip's central directory is missing."""
    path = write_roster_xlsx(directory, name)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def write_corrupt_member_xlsx(directory: Path, name: str = "corrupt_member.xlsx") -> Path:
    """The zip directory is intact but the sheet part's compressed bytes are damaged."""
    path = write_raw_xlsx(
        directory / name, sheet_xml=SIMPLE_SHEET + "<!-- " + "pad " * 5000 + "-->"
    )
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("xl/worksheets/sheet1.xml")
    data = bytearray(path.read_bytes())
    name_length, extra_length = struct.unpack_from("<HH", data, info.header_offset + 26)
    start = info.header_offset + 30 + name_length + extra_length
    for offset in range(start + 10, start + min(info.compress_size, 200)):
        data[offset] ^= 0x5A
    path.write_bytes(bytes(data))
    return path


def write_text_as_xlsx(directory: Path, name: str = "notes.xlsx") -> Path:
    path = directory / name
    path.write_text("户编号,姓名,身份证号\nH001,巴特尔,150121198001011236\n", encoding="utf-8")
    return path


PNG_BYTES = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00"
    b"\x00\x00IEND\xaeB`\x82"
)


def write_png_as_xlsx(directory: Path, name: str = "photo.xlsx") -> Path:
    path = directory / name
    path.write_bytes(PNG_BYTES)
    return path


def write_html_as_xls(directory: Path, name: str = "export.xls") -> Path:
    """The "Excel export" of many web systems: an HTML table saved with an .xls name."""
    path = directory / name
    path.write_text(
        "<html><head><meta charset='utf-8'></head><body><table>"
        "<tr><td>户编号</td><td>姓名</td></tr></table></body></html>",
        encoding="utf-8",
    )
    return path


def write_docx_as_xlsx(directory: Path, name: str = "letter.xlsx") -> Path:
    path = directory / name
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
            'package/2006/content-types"><Override PartName="/word/document.xml" ContentType="'
            'application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
            "</Types>",
        )
        archive.writestr("word/document.xml", "<document/>")
    return path


def write_zip_as_xlsx(directory: Path, name: str = "photos.xlsx") -> Path:
    path = directory / name
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("photo1.png", PNG_BYTES)
    return path


def write_xlsb(directory: Path, name: str = "binary.xlsb") -> Path:
    """An Excel binary workbook: a zip like .xlsx, but with binary parts."""
    path = directory / name
    main = "application/vnd.ms-excel.sheet.binary.macroEnabled.main"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
            'package/2006/content-types"><Override PartName="/xl/workbook.bin" '
            f'ContentType="{main}"/></Types>',
        )
        archive.writestr("xl/workbook.bin", b"\x83\x01\x00")
    return path


def write_doc_as_xls(directory: Path, name: str = "letter.xls") -> Path:
    return write_compound_file(directory / name, {"WordDocument": b"\xec\xa5" + b"\x00" * 500})


def write_empty_file(directory: Path, name: str = "empty.xlsx") -> Path:
    path = directory / name
    path.write_bytes(b"")
    return path


def write_too_large(directory: Path, name: str = "huge.xlsx", megabytes: int = 51) -> Path:
    """A sparse file: its size is past the 50 MiB default, yet it takes no disk space."""
    path = directory / name
    with path.open("wb") as out:
        out.write(b"PK\x03\x04")
        out.truncate(megabytes * 1024 * 1024)
    return path


def write_binary_csv(directory: Path, name: str = "binary.csv") -> Path:
    path = directory / name
    path.write_bytes(b"\xe5\xa7\x93\xe5\x90\x8d,id\n" + b"\x00\x01\x02" * 100)
    return path


def write_empty_sheet(directory: Path, name: str = "empty_sheet.xlsx") -> Path:
    return write_xlsx(directory / name, [])


def write_no_header(directory: Path, name: str = "no_header.xlsx") -> Path:
    rows = [[ROSTER_TITLE], ["户编号", "姓名", "证件号"], ["H001", "巴特尔", ID_NUMBERS[0]]]
    return write_xlsx(directory / name, rows)


# (case, generator, code from check_file / open_table with the roster's required headers)
BAD_FILES: list[tuple[str, Callable[[Path], Path], str]] = [
    ("zip bomb", write_zip_bomb, "zip_bomb"),
    ("billion laughs in sharedStrings.xml", write_entity_bomb, "xml_entity"),
    ("external entity across a chunk boundary", write_external_entity, "xml_entity"),
    ("entity declaration in a UTF-16 part", write_utf16_entity, "xml_entity"),
    (".xlsm with vbaProject.bin", write_macro_xlsm, "macro_enabled"),
    (".xlsx holding vbaProject.bin", write_macro_renamed_xlsx, "macro_enabled"),
    ("macro-enabled content type", write_macro_content_type, "macro_enabled"),
    (".xls with a VBA project", write_xls_with_macros, "macro_enabled"),
    (
        "password-protected .xlsx (OLE2 EncryptedPackage)",
        write_encrypted_xlsx,
        "password_protected",
    ),
    ("password-protected .xls (FILEPASS)", write_encrypted_xls, "password_protected"),
    ("truncated .xlsx", write_truncated_xlsx, "bad_zip"),
    ("damaged sheet part", write_corrupt_member_xlsx, "bad_zip"),
    ("damaged .xls", write_damaged_xls, "not_a_spreadsheet"),
    ("text renamed .xlsx", write_text_as_xlsx, "not_a_spreadsheet"),
    ("PNG renamed .xlsx", write_png_as_xlsx, "not_a_spreadsheet"),
    ("HTML saved as .xls", write_html_as_xls, "not_a_spreadsheet"),
    (".docx renamed .xlsx", write_docx_as_xlsx, "not_a_spreadsheet"),
    (".doc renamed .xls", write_doc_as_xls, "not_a_spreadsheet"),
    ("zip of photos renamed .xlsx", write_zip_as_xlsx, "not_a_spreadsheet"),
    (".xlsb", write_xlsb, "not_a_spreadsheet"),
    ("binary .csv", write_binary_csv, "not_a_spreadsheet"),
    ("empty file", write_empty_file, "file_empty"),
    ("over 50 MiB", write_too_large, "file_too_large"),
    ("empty sheet", write_empty_sheet, "sheet_empty"),
    ("no header row", write_no_header, "header_not_found"),
]
