"""The worksheet and shared-string streams of ``xlsx_stream``: the fast path (a strict subset of
XML matched in bulk) and expat must read every sheet to the same rows, whichever of them reads
which row; the spilled shared-string table must give back every string."""

import io
import random
import zipfile
from datetime import datetime

import openpyxl
import pytest
import xlsxwriter

from lowbao.imports import xlsx_stream
from lowbao.imports.readers import open_table
from lowbao.imports.safety import UnreadableFile
from lowbao.imports.xlsx_stream import SheetRows, SpilledStrings, read_shared_strings
from tests.lowbao.imports import corpus

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def _naive(*parts: int) -> datetime:
    """A naive datetime, as openpyxl and the readers give spreadsheet dates."""
    return datetime(*parts)  # noqa: DTZ001


EPOCH = _naive(1899, 12, 30)
DATE_STYLE = 1
STRINGS = ["户编号", "姓名", "身份证号", "巴特尔", "150121198001010011"]


def _sheet(rows: str, *, root: str = f'<worksheet xmlns="{MAIN}">', end: str = "</worksheet>"):
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{root}<sheetData>{rows}</sheetData>{end}'


def _read(data: str | bytes, *, fast: bool, strings=STRINGS) -> tuple[list, SheetRows]:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    reader = SheetRows(
        strings, epoch=EPOCH, date_styles={DATE_STYLE}, timedelta_styles=set(), fast=fast
    )
    rows = [
        (number, values, sorted(numeric))
        for number, values, numeric in reader.read(io.BytesIO(raw))
    ]
    return rows, reader


def _both(data: str | bytes, *, strings=STRINGS) -> tuple[list, int]:
    """The rows as both paths read them (asserted equal), and how often the fast path handed a
    row to expat."""
    fast, reader = _read(data, fast=True, strings=strings)
    slow, _ = _read(data, fast=False, strings=strings)
    assert fast == slow
    return fast, reader.handed_to_expat


PLAIN_ROWS = (
    '<row r="1" spans="1:3"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c>'
    '<c r="C1" t="s"><v>2</v></c></row>'
    '<row r="2"><c r="A2" t="inlineStr"><is><t>H001</t></is></c>'
    '<c r="B2" s="3" t="s"><v>3</v></c><c r="C2" t="s"><v>4</v></c>'
    '<c r="E2"><v>12</v></c><c r="F2" s="1"><v>45658</v></c><c r="G2" t="b"><v>1</v></c>'
    '<c r="H2" t="e"><v>#N/A</v></c><c r="I2" t="str"><f>A2&amp;"x"</f><v>H001x</v></c>'
    '<c r="J2" t="d"><v>2025-01-02T00:00:00</v></c><c r="K2"><v>1.5E+17</v></c>'
    '<c r="L2" s="2"/><c r="M2" t="inlineStr"><is><t xml:space="preserve"> 空格 </t></is></c>'
    '<c r="N2"><f>1+1</f></c><c r="O2" t="s"><v></v></c></row>'
    '<row r="5"/>'
)


def test_a_plain_sheet_is_read_by_the_fast_path_with_openpyxls_values():
    rows, handed = _both(_sheet(PLAIN_ROWS))

    assert handed == 0
    assert rows == [
        (1, ["户编号", "姓名", "身份证号"], []),
        (
            2,
            [
                "H001",
                "巴特尔",
                "150121198001010011",
                None,
                12,
                _naive(2025, 1, 1),
                True,
                "#N/A",
                "H001x",
                _naive(2025, 1, 2),
                1.5e17,
                None,
                " 空格 ",
            ],
            [4, 10],
        ),
        (5, [], []),
    ]


@pytest.mark.parametrize(
    ("_case", "row"),
    [
        (
            "rich text runs and a phonetic run",
            '<c r="A3" t="inlineStr"><is><r><rPr><b/></rPr><t>巴</t></r><r><t>特尔</t></r>'
            '<rPh sb="0" eb="1"><t>ba</t></rPh></is></c>',
        ),
        ("an entity in a value", '<c r="A3" t="inlineStr"><is><t>A&amp;B &#x5DF4;</t></is></c>'),
        ("a CDATA section", '<c r="A3" t="inlineStr"><is><t><![CDATA[<巴>]]></t></is></c>'),
        ("a comment between cells", '<c r="A3"><v>1</v></c><!-- x --><c r="B3"><v>2</v></c>'),
        ("whitespace between cells", '\n  <c r="A3"><v>1</v></c>\n  <c r="C3"><v>2</v></c>\n'),
        ("attributes in another order", '<c t="s" r="B3"><v>3</v></c><c s="1" r="C3"><v>2</v></c>'),
        ("lowercase and $ in a reference", '<c r="$b$3" t="s"><v>3</v></c>'),
        ("a carriage return in a value", '<c r="A3" t="inlineStr"><is><t>a\r\nb</t></is></c>'),
        ("a prefixed cell", f'<x:c xmlns:x="{MAIN}" r="B3" t="s"><x:v>3</x:v></x:c>'),
        (
            "a cell in another namespace",
            '<c xmlns="urn:other" r="B3"><v>3</v></c><c r="C3"><v>4</v></c>',
        ),
        ("single quotes", "<c r='A3' t='s'><v>3</v></c>"),
        ("a square bracket", '<c r="A3" t="inlineStr"><is><t>[1]</t></is></c>'),
        ("an empty value element", '<c r="A3"><v/></c><c r="B3" t="s"><v>1</v></c>'),
    ],
)
def test_rows_outside_the_strict_subset_are_read_by_expat_alone(_case, row):
    rows, handed = _both(
        _sheet(PLAIN_ROWS + f'<row r="3">{row}</row><row r="4"><c r="A4"><v>9</v></c></row>')
    )

    assert handed == 1  # that row only: the fast path reads the rows after it
    assert rows[-1] == (4, [9], [0])


def test_values_read_by_expat_for_odd_rows():
    rich = (
        '<row><c r="A1" t="inlineStr"><is><r><t>巴</t></r><r><t>特尔</t></r>'
        '<rPh sb="0" eb="1"><t>ba</t></rPh></is></c>'
        '<c r="B1" t="inlineStr"><is><t>A&amp;B &#x5DF4;</t></is></c>'
        '<c r="C1" t="inlineStr"><is><t>a\r\nb</t></is></c></row>'
        '<row><c t="s"><v>3</v></c><c/><c><v>7</v></c></row>'
    )
    rows, _ = _both(_sheet(rich))

    assert rows == [(1, ["巴特尔", "A&B 巴", "a\nb"], []), (2, ["巴特尔", None, 7], [2])]


def test_rows_and_cells_without_numbers_count_on_from_the_previous_ones():
    rows, handed = _both(
        _sheet('<row r="3"><c><v>1</v></c></row><row><c/><c t="s"><v>0</v></c></row>')
    )

    assert handed == 0
    assert rows == [(3, [1], [0]), (4, [None, "户编号"], [])]


def test_excels_row_attributes_need_their_prefix_bound():
    root = (
        f'<worksheet xmlns="{MAIN}" '
        'xmlns:x14ac="http://schemas.microsoft.com/office/spreadsheetml/2009/9/ac">'
    )
    row = (
        '<row r="1" spans="1:2" ht="15" customHeight="1" x14ac:dyDescent="0.25">'
        '<c r="A1"><v>1</v></c></row>'
    )
    rows, handed = _both(_sheet(row, root=root))
    assert (rows, handed) == ([(1, [1], [0])], 0)

    for fast in (True, False):  # the prefix unbound: not XML, whichever path meets it
        with pytest.raises(xlsx_stream.expat.ExpatError):
            _read(_sheet(row), fast=fast)


def test_a_comment_across_rows_leaves_the_rest_to_expat():
    rows, handed = _both(
        _sheet(
            PLAIN_ROWS
            + '<row r="6"><c r="A6"><v>1</v></c><!-- </row> --></row>'
            + '<row r="7"><c r="A7"><v>2</v></c></row>'
        )
    )

    assert handed == 1
    assert rows[-2:] == [(6, [1], [0]), (7, [2], [0])]


@pytest.mark.parametrize(
    ("_case", "document"),
    [
        ("truncated in a row", _sheet(PLAIN_ROWS).split('<row r="5"')[0]),
        ("truncated after a row", _sheet(PLAIN_ROWS).split("</sheetData>")[0]),
        ("a mismatched tag", _sheet('<row r="1"><c r="A1"><v>1</c></row>')),
        (
            "a control character",
            _sheet('<row r="1"><c r="A1" t="inlineStr"><is><t>a\x01</t></is></c></row>'),
        ),
        (
            "an undefined entity",
            _sheet('<row r="1"><c r="A1" t="inlineStr"><is><t>&nbsp;</t></is></c></row>'),
        ),
        (
            "]]> in text",
            _sheet('<row r="1"><c r="A1" t="inlineStr"><is><t>a]]>b</t></is></c></row>'),
        ),
        ("a row not closed", _sheet('<row r="1"><c r="A1"><v>1</v></c>')),
    ],
)
def test_malformed_sheets_fail_on_both_paths(_case, document):
    for fast in (True, False):
        with pytest.raises(xlsx_stream.expat.ExpatError):
            _read(document, fast=fast)


def test_invalid_utf8_fails_on_both_paths():
    document = _sheet('<row r="1"><c r="A1" t="inlineStr"><is><t>X</t></is></c></row>').encode()
    document = document.replace(b">X<", b">\xff\xfe<")
    with pytest.raises(UnicodeDecodeError):
        _read(document, fast=True)
    with pytest.raises(xlsx_stream.expat.ExpatError):
        _read(document, fast=False)


def test_a_doctype_is_refused_before_any_row():
    document = _sheet(PLAIN_ROWS).replace(
        "<worksheet", '<!DOCTYPE worksheet [<!ENTITY a "b">]><worksheet', 1
    )
    for fast in (True, False):
        with pytest.raises(UnreadableFile) as caught:
            _read(document, fast=fast)
        assert caught.value.code == "xml_entity"


@pytest.mark.parametrize(
    ("_case", "document"),
    [
        ("UTF-16", _sheet(PLAIN_ROWS).replace("UTF-8", "UTF-16").encode("utf-16")),
        (
            "a prefixed sheet",
            _sheet(PLAIN_ROWS)
            .replace("<worksheet xmlns=", "<x:worksheet xmlns:x=")
            .replace("</worksheet>", "</x:worksheet>")
            .replace("<sheetData>", "<x:sheetData>")
            .replace("</sheetData>", "</x:sheetData>")
            .replace("<row", '<row xmlns="' + MAIN + '"'),
        ),
        (
            "a declared Latin-1 part",
            _sheet('<row r="1"><c r="A1" t="inlineStr"><is><t>caf\xe9</t></is></c></row>')
            .replace("UTF-8", "ISO-8859-1")
            .encode("latin-1"),
        ),
    ],
)
def test_parts_the_fast_path_does_not_take_are_read_by_expat(_case, document):
    fast, reader = _read(document, fast=True)
    slow, _ = _read(document, fast=False)

    assert fast == slow
    assert fast[0][0] == 1
    assert fast[0][1]
    assert reader.handed_to_expat == 0  # never started: expat read it all


def test_rows_cut_across_chunks_and_long_rows(monkeypatch):
    rows = "".join(
        f'<row r="{number}"><c r="A{number}" t="inlineStr">'
        f"<is><t>{'巴特尔' * (number % 7)}</t></is></c>"
        f'<c r="B{number}"><v>{number}</v></c></row>'
        for number in range(1, 400)
    )
    document = _sheet(rows) + "<!-- " + "x" * 5000 + " -->"
    expected, _ = _read(document, fast=False)

    monkeypatch.setattr(xlsx_stream, "FAST_CHUNK_BYTES", 7)
    monkeypatch.setattr(xlsx_stream, "CHUNK_BYTES", 5)  # <sheetData> itself split too
    assert _read(document, fast=True)[0] == expected
    monkeypatch.setattr(xlsx_stream, "MAX_FAST_ROW_BYTES", 40)  # rows too long: expat reads on
    assert _read(document, fast=True)[0] == expected
    monkeypatch.setattr(xlsx_stream, "MAX_PROLOG_BYTES", 10)  # prolog not kept: expat only
    assert _read(document, fast=True)[0] == expected


def test_an_empty_sheet_data():
    for document in (_sheet(""), _sheet("").replace("<sheetData></sheetData>", "<sheetData/>")):
        assert _both(document)[0] == []


def test_a_shared_string_past_the_table_is_an_error_on_both_paths():
    for fast in (True, False):
        with pytest.raises(IndexError):
            _read(_sheet('<row r="1"><c r="A1" t="s"><v>99</v></c></row>'), fast=fast)


def test_an_xlsx_written_by_openpyxl_reads_as_openpyxl_reads_it(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["户编号", "姓名", "身份证号", "出生日期", "金额", "备注"])
    sheet.append(["H001", "巴特尔", "150121198001010011", _naive(1980, 1, 1), 12.5, "A&B <x>"])
    sheet.append(["H002", "其其格", 150121198001010011, _naive(1981, 2, 3), 7, "=1+1"])
    path = tmp_path / "openpyxl.xlsx"
    book.save(path)

    with open_table(path, required_headers=["户编号", "姓名", "身份证号"]) as table:
        rows = list(table.rows())

    assert [row.values for row in rows] == [
        {
            "户编号": "H001",
            "姓名": "巴特尔",
            "身份证号": "150121198001010011",
            "出生日期": _naive(1980, 1, 1),
            "金额": 12.5,
            "备注": "A&B <x>",
        },
        {
            "户编号": "H002",
            "姓名": "其其格",
            "身份证号": 1.5012119800101e17,  # as Excel too keeps it: 15 digits
            "出生日期": _naive(1981, 2, 3),
            "金额": 7,
            "备注": None,  # a formula without a cached value
        },
    ]
    assert rows[1].numeric_cells == frozenset({"身份证号", "金额"})


# --- shared strings -------------------------------------------------------------------------------


def _sst(items: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<sst xmlns="{MAIN}" count="9" uniqueCount="9">'
        f"{items}</sst>"
    ).encode()


def _strings_both(data: bytes) -> list[str]:
    fast = SpilledStrings()
    read_shared_strings(io.BytesIO(data), fast)
    fast.finish()
    slow = SpilledStrings()
    reader = xlsx_stream._SharedStrings(slow)
    reader._head = None  # no prolog kept: expat reads it all
    reader.read(io.BytesIO(data))
    slow.finish()
    assert list(fast) == list(slow)
    return list(fast)


def test_shared_strings_plain_rich_phonetic_and_escaped():
    items = (
        '<si><t>户编号</t></si><si><t xml:space="preserve"> 巴特尔 </t></si>'
        "<si><r><rPr><b/></rPr><t>其</t></r><r><t>其格</t></r></si>"
        '<si><t>苏和</t><rPh sb="0" eb="1"><t>suhe</t></rPh></si>'
        "<si><t>A&amp;B</t></si><si><t/></si><si><t>x005F_x0041_</t></si>"
        "<si><t><![CDATA[<c>]]></t></si><si><t>末</t></si>"
    )
    assert _strings_both(_sst(items)) == [
        "户编号",
        " 巴特尔 ",
        "其其格",
        "苏和",
        "A&B",
        "",
        "x0041_",
        "<c>",
        "末",
    ]


def test_shared_strings_with_a_comment_across_items_and_a_truncated_table():
    items = "<si><t>a</t></si><!-- </si> --><si><t>b</t></si>" + "<si><t>c</t></si>" * 3
    assert _strings_both(_sst(items)) == ["a", "b", "c", "c", "c"]

    for keep_prolog in (True, False):
        strings = SpilledStrings()
        reader = xlsx_stream._SharedStrings(strings)
        if not keep_prolog:
            reader._head = None
        with pytest.raises(xlsx_stream.expat.ExpatError):
            reader.read(io.BytesIO(_sst("<si><t>a</t></si><si><t>b</t>")[:-6]))


def test_shared_strings_refuse_a_doctype():
    data = _sst("<si><t>a</t></si>").replace(b"<sst", b'<!DOCTYPE sst [<!ENTITY a "b">]><sst', 1)
    with pytest.raises(UnreadableFile):
        read_shared_strings(io.BytesIO(data), SpilledStrings())


def test_spilled_strings_across_pages_in_any_order(monkeypatch):
    monkeypatch.setattr(xlsx_stream, "SPILL_PAGES", 3)
    monkeypatch.setattr(xlsx_stream, "RECENT_STRINGS", 8)
    texts = [f"{index:06d}" + "嘎查村" * (index % 11) for index in range(3000)] + ["", "x" * 40000]
    strings = SpilledStrings()
    strings.extend(texts[:1000])
    for text in texts[1000:]:
        strings.append(text)
    strings.finish()

    order = list(range(len(texts))) * 2
    random.Random(5).shuffle(order)
    assert [strings[index] for index in order] == [texts[index] for index in order]
    assert (strings[-1], strings[-2], len(strings)) == (texts[-1], "", len(texts))
    assert strings[10:13] == texts[10:13]
    strings._file.seek(0)
    on_disk = strings._file.read()
    assert len(on_disk) == sum(len(text.encode()) for text in texts)
    assert "嘎查村".encode() not in on_disk
    with pytest.raises(IndexError):
        strings[len(texts)]
    strings.close()


def test_a_shared_string_workbook_reads_as_an_inline_one(tmp_path):
    """The same roster written with a shared-string table (as Excel and WPS write it) and with
    inline strings (xlsxwriter's constant memory) reads to the same rows."""
    rows = [["户编号", "姓名", "身份证号", "与户主关系"]] + [
        [
            f"H{index // 3:04d}",
            f"成员{index}",
            f"1501211980{index:08d}",
            "户主" if index % 3 == 0 else "子",
        ]
        for index in range(2000)
    ]
    read = []
    for shared in (True, False):
        path = tmp_path / f"roster-{shared}.xlsx"
        workbook = xlsxwriter.Workbook(str(path), {"constant_memory": not shared})
        sheet = workbook.add_worksheet()
        for number, row in enumerate(rows):
            sheet.write_row(number, 0, row)
        workbook.close()
        with zipfile.ZipFile(path) as archive:
            assert ("xl/sharedStrings.xml" in archive.namelist()) is shared
        with open_table(path, required_headers=["户编号", "姓名", "身份证号"]) as table:
            read.append([(row.number, row.values) for row in table.rows()])
    assert read[0] == read[1]
    assert len(read[0]) == 2000
    assert read[0][-1][1]["姓名"] == "成员1999"


def test_the_roster_fixture_reads_alike_on_both_paths(tmp_path, monkeypatch):
    path = corpus.write_roster_xlsx(tmp_path)
    with open_table(path, required_headers=["户编号", "姓名", "身份证号"]) as table:
        fast = [(row.number, row.values, row.numeric_cells) for row in table.rows()]
    monkeypatch.setattr(xlsx_stream, "MAX_PROLOG_BYTES", 0)
    with open_table(path, required_headers=["户编号", "姓名", "身份证号"]) as table:
        slow = [(row.number, row.values, row.numeric_cells) for row in table.rows()]
    assert fast == slow
    assert len(fast) == 4
