"""The streaming readers (ledgers.md §1): header detection under title rows, header spelling,
merged cells, empty and totals rows, numeric ID cells, encodings, exact row numbers, and flat
memory on a large sheet."""

import json
import os
import subprocess
import sys
import tracemalloc
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from lowbao.imports import readers
from lowbao.imports.readers import HEADER_SEARCH_ROWS, SheetRow, open_table
from lowbao.imports.safety import UnreadableFile
from tests.lowbao.imports import corpus

ROSTER_REQUIRED = ["户编号", "姓名", "身份证号"]
ROSTER_KNOWN = {"与户主关系": ["关系"], "苏木乡镇": ["乡镇"], "嘎查村": ["村"], "序号": []}
ID = corpus.ID_NUMBERS


def _read(path: Path, **options) -> tuple[object, list[SheetRow]]:
    options.setdefault("required_headers", ROSTER_REQUIRED)
    with open_table(path, **options) as table:
        rows = list(table.rows())
    return table, rows


def _refusal(path: Path, **options) -> UnreadableFile:
    options.setdefault("required_headers", ROSTER_REQUIRED)
    with pytest.raises(UnreadableFile) as caught:
        open_table(path, **options)
    return caught.value


# --- the roster fixture in every format -----------------------------------------------------------

ROSTER_VALUES = [
    (4, {"序号": 1, "户编号": "H001", "姓名": "巴特尔", "身份证号": ID[0], "与户主关系": "户主"}),
    (5, {"序号": 2, "户编号": "H001", "姓名": "其其格", "身份证号": ID[1], "与户主关系": "配偶"}),
    (6, {"序号": 3, "户编号": "H001", "姓名": "苏和", "身份证号": ID[2], "与户主关系": "子"}),
    (8, {"序号": 4, "户编号": "H002", "姓名": "王五", "身份证号": ID[3], "与户主关系": "户主"}),
]
ROSTER_PLACES = {4: ("察素齐镇", "一村"), 5: ("察素齐镇", "一村"), 6: ("察素齐镇", "一村")}


@pytest.mark.parametrize(
    ("_case", "generate", "merged"),
    [
        ("xlsx with merged household cells", corpus.write_roster_xlsx, True),
        ("xls with merged household cells", corpus.write_roster_xls, True),
        ("csv in GBK", corpus.write_csv_gbk, False),
        ("csv in UTF-8 with BOM", corpus.write_csv_utf8_bom, False),
        ("csv in UTF-8", corpus.write_csv_utf8, False),
        ("csv in UTF-16, tab-separated", corpus.write_csv_utf16_tabs, False),
    ],
)
def test_the_roster_reads_the_same_in_every_format(tmp_path, _case, generate, merged):
    table, rows = _read(generate(tmp_path), aliases=ROSTER_KNOWN)

    assert table.header_row_number == 3
    assert table.headers == corpus.ROSTER_HEADERS
    assert table.unknown_columns == []
    assert table.skipped_totals == [9]
    assert [row.number for row in rows] == [4, 5, 6, 8]
    for row, (number, expected) in zip(rows, ROSTER_VALUES, strict=True):
        got = {key: row.values[key] for key in expected}
        if not merged and number in (5, 6):
            expected = {**expected, "户编号": None}
        if isinstance(got["序号"], str):  # csv keeps text
            expected = {**expected, "序号": str(expected["序号"])}
        assert got == expected
        place = (row.values["苏木乡镇"], row.values["嘎查村"])
        if merged or number in (4, 8):
            assert place == ROSTER_PLACES.get(number, ("毕克齐镇", "二村"))
        else:
            assert place == (None, None)


def test_the_first_data_row_under_a_header_in_row_3_is_row_4(tmp_path):
    _table, rows = _read(corpus.write_roster_xlsx(tmp_path))

    assert rows[0].number == 4


def test_rows_is_a_stream_that_can_be_read_again(tmp_path):
    path = corpus.write_roster_xlsx(tmp_path)

    with open_table(path, required_headers=ROSTER_REQUIRED) as table:
        stream = table.rows()
        first = [row.number for row in stream]
        second = [row.number for row in table.rows()]

    assert isinstance(stream, Iterator)
    assert first == second == [4, 5, 6, 8]
    assert table.skipped_totals == [9]


def test_csv_reports_its_detected_encoding(tmp_path):
    encodings = [
        _read(generate(tmp_path))[0].encoding
        for generate in (
            corpus.write_csv_gbk,
            corpus.write_csv_utf8_bom,
            corpus.write_csv_utf8,
            corpus.write_csv_utf16_tabs,
        )
    ]

    assert encodings == ["gb18030", "utf-8-sig", "utf-8", "utf-16"]


def test_a_csv_in_no_known_encoding_is_refused(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("户编号,姓名,身份证号\n".encode() + b"\x81\x30\xff\xfe\n")

    refusal = _refusal(path)

    assert (refusal.code, refusal.message) == (
        "bad_encoding",
        "无法识别 CSV 文件的文字编码；请另存为 UTF-8 或 GBK 编码的 CSV 文件后再导入",
    )


def test_csv_dates_stay_text_as_excel_wrote_them(tmp_path):
    path = tmp_path / "dates.csv"
    path.write_text("姓名,身份证号,户编号,认定日期\n巴特尔,1,H1,2016/3/1\n", encoding="utf-8")

    _table, rows = _read(path)

    assert rows[0].values["认定日期"] == "2016/3/1"


def test_a_quoted_csv_field_may_hold_commas_and_line_breaks(tmp_path):
    path = tmp_path / "quoted.csv"
    path.write_text('户编号,姓名,身份证号,备注\nH1,巴特尔,1,"一,二\n三"\nH2,王五,2,\n', "utf-8")

    _table, rows = _read(path)

    assert [(row.number, row.values["备注"]) for row in rows] == [(2, "一,二\n三"), (3, None)]


def test_a_csv_field_past_the_csv_limit_is_a_damaged_file(tmp_path):
    path = tmp_path / "long.csv"
    path.write_text('户编号,姓名,身份证号\nH1,"' + "长" * 200_000 + '",1\n', encoding="utf-8")

    with (
        open_table(path, required_headers=ROSTER_REQUIRED) as table,
        pytest.raises(UnreadableFile) as caught,
    ):
        list(table.rows())

    assert (caught.value.code, caught.value.message) == (
        "not_a_spreadsheet",
        "CSV 文件格式有误（第 2 行附近），无法读取",
    )


def test_a_sheet_name_is_ignored_for_csv(tmp_path):
    table, rows = _read(corpus.write_csv_utf8(tmp_path), sheet="花名册")

    assert (table.sheet_name, len(rows)) == ("roster_utf8", 4)


# --- header detection -----------------------------------------------------------------------------


def test_header_spelling_ignores_spaces_full_width_spaces_and_line_breaks(tmp_path):
    rows = [
        ["户 编 号", "姓\u3000名", "身份证\n号", "  与户主\r\n关系 "],
        ["H1", "巴特尔", ID[0], "户主"],
    ]
    path = corpus.write_xlsx(tmp_path / "spaced.xlsx", rows)

    table, data = _read(path, aliases=ROSTER_KNOWN)

    assert table.headers == ["户编号", "姓名", "身份证号", "与户主关系"]
    assert data[0].values == {
        "户编号": "H1",
        "姓名": "巴特尔",
        "身份证号": ID[0],
        "与户主关系": "户主",
    }


def test_full_width_letters_and_marked_required_headers_match(tmp_path):
    rows = [["*户编号", "姓名＊", "身份证号", "ＩＤ备注"], ["H1", "巴特尔", ID[0], "x"]]
    path = corpus.write_xlsx(tmp_path / "marked.xlsx", rows)

    table, _rows = _read(path, optional_headers=["ID备注"])

    assert table.headers == ["户编号", "姓名", "身份证号", "ID备注"]


def test_aliases_map_to_the_canonical_header(tmp_path):
    rows = [["户号", "户主及成员姓名", "身份证号码"], ["H1", "巴特尔", ID[0]]]
    path = corpus.write_xlsx(tmp_path / "aliases.xlsx", rows)
    aliases = {"户编号": ["户号"], "姓名": ["户主及成员姓名"], "身份证号": ["身份证号码"]}

    table, data = _read(path, aliases=aliases)

    assert table.headers == ["户编号", "姓名", "身份证号"]
    assert data[0].values == {"户编号": "H1", "姓名": "巴特尔", "身份证号": ID[0]}


def test_unknown_columns_are_listed_once_and_kept_under_their_text(tmp_path):
    rows = [
        ["户编号", "姓名", "身份证号", "联系\n电话", None, "备 注"],
        ["H1", "巴特尔", ID[0], "13800000000", "stray", "无"],
    ]
    path = corpus.write_xlsx(tmp_path / "unknown.xlsx", rows)

    table, data = _read(path)

    assert table.unknown_columns == ["联系 电话", "备 注"]
    assert table.headers == ["户编号", "姓名", "身份证号", "联系 电话", "备 注"]
    assert data[0].values["联系 电话"] == "13800000000"


def test_optional_headers_are_not_unknown(tmp_path):
    rows = [["户编号", "姓名", "身份证号", "备注"], ["H1", "巴特尔", ID[0], "x"]]
    path = corpus.write_xlsx(tmp_path / "optional.xlsx", rows)

    table, _rows = _read(path, optional_headers=["备注"])

    assert table.unknown_columns == []


def test_a_second_column_with_the_same_header_is_reported_and_ignored(tmp_path):
    rows = [["户编号", "姓名", "身份证号", "身份证号码"], ["H1", "巴特尔", ID[0], ID[1]]]
    path = corpus.write_xlsx(tmp_path / "twice.xlsx", rows)

    table, data = _read(path, aliases={"身份证号": ["身份证号码"]})

    assert table.duplicate_columns == ["身份证号码"]
    assert data[0].values["身份证号"] == ID[0]


def test_the_header_is_the_first_row_with_every_required_header(tmp_path):
    rows = [
        ["户编号说明：见附表"],
        ["户编号", "姓名"],  # a partial header (a caption row) is not the header
        ["户编号", "姓名", "身份证号"],
        ["H1", "巴特尔", ID[0]],
    ]
    path = corpus.write_xlsx(tmp_path / "caption.xlsx", rows)

    table, data = _read(path)

    assert (table.header_row_number, [row.number for row in data]) == (3, [4])


def test_no_header_lists_what_the_best_row_is_missing(tmp_path):
    rows = [[corpus.ROSTER_TITLE], ["户号", "姓名", "证件号码"], ["H1", "巴特尔", ID[0]]]
    path = corpus.write_xlsx(tmp_path / "no_header.xlsx", rows)

    refusal = _refusal(path)

    assert (refusal.code, refusal.message) == (
        "header_not_found",
        "未找到表头：缺少“户编号”、“身份证号”列",
    )


def test_a_header_below_the_first_30_rows_is_not_found(tmp_path):
    rows = [[f"说明第{number}行"] for number in range(1, HEADER_SEARCH_ROWS + 1)]
    rows += [ROSTER_REQUIRED, ["H1", "巴特尔", ID[0]]]
    path = corpus.write_xlsx(tmp_path / "deep.xlsx", rows)

    refusal = _refusal(path)

    assert refusal.message == "未找到表头：缺少“户编号”、“姓名”、“身份证号”列"


def test_a_header_in_row_30_is_found(tmp_path):
    rows = [[None]] * (HEADER_SEARCH_ROWS - 1) + [ROSTER_REQUIRED, ["H1", "巴特尔", ID[0]]]
    path = corpus.write_xlsx(tmp_path / "row30.xlsx", rows)

    table, data = _read(path)

    assert (table.header_row_number, data[0].number) == (30, 31)


@pytest.mark.parametrize(
    ("_case", "generate"),
    [
        ("xlsx with no cell", corpus.write_empty_sheet),
        ("csv with blank lines only", lambda directory: _blank_csv(directory)),
    ],
)
def test_an_empty_sheet_is_refused(tmp_path, _case, generate):
    refusal = _refusal(generate(tmp_path))

    assert refusal.code == "sheet_empty"


def _blank_csv(directory: Path) -> Path:
    path = directory / "blank.csv"
    path.write_text(",,\n\n ,\n", encoding="utf-8")
    return path


def test_the_empty_sheet_message_names_the_sheet(tmp_path):
    refusal = _refusal(corpus.write_empty_sheet(tmp_path))

    assert refusal.message == "工作表“Sheet1”是空的，没有任何数据"


# --- sheets ---------------------------------------------------------------------------------------


def _two_sheets(directory: Path) -> Path:
    return corpus.write_xlsx(
        directory / "two.xlsx",
        [["说明"], ["本表为封面"]],
        sheet_title="封面",
        more_sheets={"低保 花名册": [ROSTER_REQUIRED, ["H1", "巴特尔", ID[0]]]},
    )


def test_the_first_worksheet_is_read_unless_one_is_named(tmp_path):
    refusal = _refusal(_two_sheets(tmp_path))

    assert refusal.code == "header_not_found"


@pytest.mark.parametrize(
    ("_case", "sheet"),
    [("exact name", "低保 花名册"), ("name without its space", "低保花名册")],
)
def test_a_named_sheet_is_read(tmp_path, _case, sheet):
    table, rows = _read(_two_sheets(tmp_path), sheet=sheet)

    assert (table.sheet_name, [row.number for row in rows]) == ("低保 花名册", [2])


def test_a_named_sheet_that_does_not_exist_is_refused_with_the_sheets_there_are(tmp_path):
    refusal = _refusal(_two_sheets(tmp_path), sheet="特困")

    assert (refusal.code, refusal.message) == (
        "sheet_not_found",
        "文件中没有名为“特困”的工作表；文件中的工作表有：“封面”、“低保 花名册”",
    )


def test_a_named_xls_sheet_that_does_not_exist_is_refused(tmp_path):
    refusal = _refusal(corpus.write_roster_xls(tmp_path), sheet="特困")

    assert (refusal.code, refusal.message) == (
        "sheet_not_found",
        "文件中没有名为“特困”的工作表；文件中的工作表有：“Sheet1”",
    )


# --- merged cells ---------------------------------------------------------------------------------


def _merged_rows() -> list[list[object]]:
    return [
        ["花名册", None, None, None, None],
        ["户编号", "姓名", "身份证号", "家庭住址", "备注"],
        ["H1", "巴特尔", ID[0], "一村三组", None],
        [None, "其其格", ID[1], None, None],
        [None, "苏和", ID[2], None, None],
        ["H2", "王五", ID[3], "二村", None],
    ]


@pytest.mark.parametrize(
    ("_case", "write"),
    [
        (
            "xlsx",
            lambda path: corpus.write_xlsx(
                path.with_suffix(".xlsx"), _merged_rows(), merges=["A1:E1", "A3:A5", "D3:E4"]
            ),
        ),
        (
            "xls",
            lambda path: corpus.write_xls(
                path.with_suffix(".xls"),
                _merged_rows(),
                merges=[(0, 0, 0, 4), (2, 4, 0, 0), (2, 3, 3, 4)],
            ),
        ),
    ],
)
def test_a_merged_value_applies_down_and_right_over_its_range(tmp_path, _case, write):
    table, rows = _read(write(tmp_path / "merged"), optional_headers=["家庭住址", "备注"])

    assert table.header_row_number == 2
    assert [
        (row.number, row.values["户编号"], row.values["家庭住址"], row.values["备注"])
        for row in rows
    ] == [
        (3, "H1", "一村三组", "一村三组"),
        (4, "H1", "一村三组", "一村三组"),
        (5, "H1", None, None),
        (6, "H2", "二村", None),
    ]


def test_a_merge_that_starts_above_the_data_is_not_spread_into_it(tmp_path):
    sheet = (
        corpus.SHEET_OPEN + "<sheetData>"
        '<row r="1"><c r="A1" t="inlineStr"><is><t>户编号</t></is></c>'
        '<c r="B1" t="inlineStr"><is><t>姓名</t></is></c>'
        '<c r="C1" t="inlineStr"><is><t>身份证号</t></is></c></row>'
        '<row r="2"><c r="B2" t="inlineStr"><is><t>巴特尔</t></is></c></row>'
        '</sheetData><mergeCells count="1"><mergeCell ref="A1:A2"/></mergeCells></worksheet>'
    )
    path = corpus.write_raw_xlsx(tmp_path / "header_merge.xlsx", sheet_xml=sheet)

    _table, data = _read(path)

    assert data[0].values == {"户编号": None, "姓名": "巴特尔", "身份证号": None}


def test_a_merged_numeric_id_stays_flagged_on_every_row(tmp_path):
    rows = [ROSTER_REQUIRED, ["H1", "巴特尔", 150121198001011236], ["H1", "其其格", None]]
    path = corpus.write_xlsx(tmp_path / "merged_id.xlsx", rows, merges=["C2:C3"])

    _table, data = _read(path)

    assert [row.numeric_cells for row in data] == [frozenset({"身份证号"})] * 2


def test_many_merges_in_any_order_are_applied(tmp_path):
    """Merges listed bottom-up in the file are sorted before streaming."""
    sheet = (
        corpus.SHEET_OPEN + "<sheetData>"
        '<row r="1"><c r="A1" t="inlineStr"><is><t>户编号</t></is></c>'
        '<c r="B1" t="inlineStr"><is><t>姓名</t></is></c>'
        '<c r="C1" t="inlineStr"><is><t>身份证号</t></is></c></row>'
        + "".join(
            f'<row r="{number}">'
            + (
                f'<c r="A{number}" t="inlineStr"><is><t>H{number}</t></is></c>'
                if number % 2 == 0
                else ""
            )
            + f'<c r="B{number}" t="inlineStr"><is><t>P{number}</t></is></c></row>'
            for number in range(2, 12)
        )
        + '</sheetData><mergeCells count="5">'
        + "".join(f'<mergeCell ref="A{top}:A{top + 1}"/>' for top in (10, 8, 6, 4, 2))
        + "</mergeCells></worksheet>"
    )
    path = corpus.write_raw_xlsx(tmp_path / "unsorted.xlsx", sheet_xml=sheet)

    _table, data = _read(path)

    assert [row.values["户编号"] for row in data] == [
        f"H{number - number % 2}" for number in range(2, 12)
    ]


def _sheet_with_merges(merge_refs: list[str], rows: int = 6) -> str:
    return (
        corpus.SHEET_OPEN + "<sheetData>"
        '<row r="1"><c r="A1" t="inlineStr"><is><t>户编号</t></is></c>'
        '<c r="B1" t="inlineStr"><is><t>姓名</t></is></c>'
        '<c r="C1" t="inlineStr"><is><t>身份证号</t></is></c></row>'
        + "".join(
            f'<row r="{number}"><c r="A{number}" t="inlineStr"><is><t>H{number}</t></is></c>'
            f'<c r="B{number}" t="inlineStr"><is><t>P{number}</t></is></c></row>'
            for number in range(2, rows + 2)
        )
        + f'</sheetData><mergeCells count="{len(merge_refs)}">'
        + "".join(f'<mergeCell ref="{ref}"/>' for ref in merge_refs)
        + "</mergeCells></worksheet>"
    )


def test_overlapping_whole_sheet_merges_keep_the_first_and_stay_cheap(tmp_path):
    """A crafted file may claim merges no spreadsheet program would write; the work per row stays
    bounded by the number of columns."""
    refs = ["A2:XFD1048576"] * 2000 + ["B3:B4"]
    path = corpus.write_raw_xlsx(tmp_path / "overlap.xlsx", sheet_xml=_sheet_with_merges(refs))

    _table, data = _read(path)

    assert [row.values for row in data] == [{"户编号": "H2", "姓名": "H2", "身份证号": "H2"}] * 6


def test_a_merge_over_unnamed_columns_only_changes_nothing(tmp_path):
    sheet = _sheet_with_merges(["E2:F7"])
    path = corpus.write_raw_xlsx(tmp_path / "unnamed.xlsx", sheet_xml=sheet)

    _table, data = _read(path)

    assert [row.values["户编号"] for row in data] == [f"H{number}" for number in range(2, 8)]


def test_too_many_merged_ranges_are_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "MAX_MERGED_RANGES", 2)
    sheet = _sheet_with_merges(["A2:A3", "A4:A5", "A6:A7"])
    path = corpus.write_raw_xlsx(tmp_path / "many.xlsx", sheet_xml=sheet)

    with (
        open_table(path, required_headers=ROSTER_REQUIRED) as table,
        pytest.raises(UnreadableFile) as caught,
    ):
        list(table.rows())

    assert (caught.value.code, caught.value.message) == (
        "too_many_merged_cells",
        "工作表中的合并单元格超过 2 处，无法读取；请取消合并后再导入",
    )


# --- empty rows, totals rows ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("_case", "label"),
    [
        ("合计", "合计"),
        ("总计 with spaces", "总 计"),
        ("小计 with a colon", "小计："),
        ("本页合计", "本页合计"),
        ("全旗合计", "全旗合计"),
    ],
)
def test_a_totals_row_is_skipped_and_reported(tmp_path, _case, label):
    rows = [ROSTER_REQUIRED, ["H1", "巴特尔", ID[0]], [None, label, None], ["H2", "王五", ID[3]]]
    path = corpus.write_xlsx(tmp_path / "totals.xlsx", rows)

    table, data = _read(path)

    assert ([row.number for row in data], table.skipped_totals) == ([2, 4], [3])


def test_a_name_that_merely_contains_a_totals_word_is_data(tmp_path):
    rows = [ROSTER_REQUIRED, ["H1", "合计之后的备注很长很长的一段话", ID[0]], [1, "小计", None]]
    path = corpus.write_xlsx(tmp_path / "not_totals.xlsx", rows)

    table, data = _read(path)

    assert ([row.number for row in data], table.skipped_totals) == ([2, 3], [])


def test_fully_empty_and_blank_rows_are_skipped(tmp_path):
    rows = [
        ROSTER_REQUIRED,
        ["H1", "巴特尔", ID[0]],
        [None, None, None],
        [" ", "\u3000", ""],
        [],
        ["H2", "王五", ID[3]],
    ]
    path = corpus.write_xlsx(tmp_path / "blanks.xlsx", rows)

    _table, data = _read(path)

    assert [row.number for row in data] == [2, 6]


# --- cell values ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("_case", "generate"),
    [
        ("xlsx", corpus.write_numeric_id_xlsx),
        (
            "xls",
            lambda directory: corpus.write_xls(
                directory / "numeric_id.xls",
                [
                    ROSTER_REQUIRED,
                    ["H001", "巴特尔", 150121198001011236],
                    ["H001", "其其格", ID[1]],
                ],
            ),
        ),
        ("csv written by Excel", lambda directory: _scientific_csv(directory)),
    ],
)
def test_an_id_stored_as_a_number_is_flagged(tmp_path, _case, generate):
    _table, rows = _read(generate(tmp_path))

    assert [row.numeric_cells for row in rows] == [frozenset({"身份证号"}), frozenset()]


def _scientific_csv(directory: Path) -> Path:
    path = directory / "numeric_id.csv"
    path.write_text(
        f"户编号,姓名,身份证号\nH001,巴特尔,1.50121E+17\nH001,其其格,{ID[1]}\n", encoding="gbk"
    )
    return path


def test_an_xlsx_number_reads_as_a_number_and_text_as_text(tmp_path):
    _table, rows = _read(corpus.write_numeric_id_xlsx(tmp_path))

    assert isinstance(rows[0].values["身份证号"], float | int)
    assert rows[1].values["身份证号"] == ID[1]


def test_date_cells_read_as_datetimes(tmp_path):
    rows = [[*ROSTER_REQUIRED, "认定日期"], ["H1", "巴特尔", ID[0], datetime(2016, 3, 1)]]  # noqa: DTZ001
    xlsx = corpus.write_xlsx(tmp_path / "dates.xlsx", rows)
    xls = corpus.write_xls(tmp_path / "dates.xls", rows)

    got = [_read(path)[1][0] for path in (xlsx, xls)]

    assert [row.values["认定日期"] for row in got] == [datetime(2016, 3, 1)] * 2  # noqa: DTZ001
    assert [row.numeric_cells for row in got] == [frozenset()] * 2


def test_formulas_give_their_cached_values_and_are_never_evaluated(tmp_path):
    sheet = (
        corpus.SHEET_OPEN + "<sheetData>"
        '<row r="1"><c r="A1" t="inlineStr"><is><t>户编号</t></is></c>'
        '<c r="B1" t="inlineStr"><is><t>姓名</t></is></c>'
        '<c r="C1" t="inlineStr"><is><t>身份证号</t></is></c>'
        '<c r="D1" t="inlineStr"><is><t>金额</t></is></c></row>'
        '<row r="2"><c r="A2" t="str"><f>"H"&amp;"1"</f><v>H1</v></c>'
        '<c r="B2" t="inlineStr"><is><t>巴特尔</t></is></c>'
        '<c r="C2" t="str"><f>CONCAT("1501",C3)</f><v>150121198001011236</v></c>'
        '<c r="D2"><f>WEBSERVICE("http://example.invalid/")</f></c></row>'
        "</sheetData></worksheet>"
    )
    path = corpus.write_raw_xlsx(tmp_path / "formulas.xlsx", sheet_xml=sheet)

    _table, rows = _read(path)

    assert rows[0].values == {"户编号": "H1", "姓名": "巴特尔", "身份证号": ID[0], "金额": None}


def test_shared_strings_with_rich_text_runs_read_as_plain_text(tmp_path):
    strings = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        "<si><t>户编号</t></si><si><t>姓名</t></si><si><t>身份证号</t></si>"
        "<si><r><rPr><b/></rPr><t>巴特</t></r><r><t>尔</t></r>"
        "<rPh sb='0' eb='1'><t>バ</t></rPh></si>"
        '<si><t xml:space="preserve"> H1 </t></si>'
        "</sst>"
    )
    sheet = (
        corpus.SHEET_OPEN + "<sheetData>"
        '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c>'
        '<c r="C1" t="s"><v>2</v></c></row>'
        '<row r="2"><c r="A2" t="s"><v>4</v></c><c r="B2" t="s"><v>3</v></c>'
        f'<c r="C2" t="inlineStr"><is><t>{ID[0]}</t></is></c></row>'
        "</sheetData></worksheet>"
    )
    path = corpus.write_raw_xlsx(
        tmp_path / "shared.xlsx", sheet_xml=sheet, shared_strings_xml=strings
    )

    _table, rows = _read(path)

    assert rows[0].values == {"户编号": " H1 ", "姓名": "巴特尔", "身份证号": ID[0]}


def test_a_wrong_dimension_does_not_cut_the_sheet(tmp_path):
    sheet = (
        corpus.SHEET_OPEN + '<dimension ref="A1"/><sheetData>'
        '<row r="2"><c r="B2" t="inlineStr"><is><t>户编号</t></is></c>'
        '<c r="C2" t="inlineStr"><is><t>姓名</t></is></c>'
        '<c r="D2" t="inlineStr"><is><t>身份证号</t></is></c></row>'
        '<row r="5"><c r="B5" t="inlineStr"><is><t>H1</t></is></c>'
        f'<c r="D5" t="inlineStr"><is><t>{ID[0]}</t></is></c></row>'
        "</sheetData></worksheet>"
    )
    path = corpus.write_raw_xlsx(tmp_path / "dimension.xlsx", sheet_xml=sheet)

    table, rows = _read(path)

    assert table.header_row_number == 2
    assert [(row.number, row.values) for row in rows] == [
        (5, {"户编号": "H1", "姓名": None, "身份证号": ID[0]})
    ]


def test_a_shared_string_index_past_the_table_is_a_damaged_file(tmp_path):
    sheet = (
        corpus.SHEET_OPEN + '<sheetData><row r="1"><c r="A1" t="s"><v>7</v></c></row>'
        "</sheetData></worksheet>"
    )
    strings = (
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        "<si><t>x</t></si></sst>"
    )
    path = corpus.write_raw_xlsx(
        tmp_path / "bad_index.xlsx", sheet_xml=sheet, shared_strings_xml=strings
    )

    assert _refusal(path).code == "bad_zip"


# --- streaming ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def large_roster(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("large")
    return corpus.write_large_xlsx(directory / "large.xlsx", LARGE_ROWS)


LARGE_ROWS = 100_000
# A list of the rows alone would take well over 50 MB, openpyxl's in-memory shared strings about
# 15 MB and its retained row elements 8 MB more; the streaming reader peaks near 7 MB.
LARGE_PEAK_BYTES = 14 * 1024 * 1024


@pytest.mark.slow
def test_a_large_sheet_streams_with_flat_memory(large_roster):
    tracemalloc.start()
    try:
        count = 0
        last = None
        with open_table(large_roster, required_headers=ROSTER_REQUIRED) as table:
            for row in table.rows():
                count += 1
                last = row
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert count == LARGE_ROWS
    assert last == SheetRow(
        LARGE_ROWS + 2,
        {
            "户编号": 33334,
            "姓名": "成员99999",
            "身份证号": "150121198000099999",
            "与户主关系": "户主",
        },
        frozenset({"户编号"}),
    )
    assert peak < LARGE_PEAK_BYTES, f"peak {peak / 1024 / 1024:.1f} MB"


# VmHWM, the peak resident size of this address space: unlike ru_maxrss it starts afresh at exec,
# so the test runner's own size (inherited through fork) does not hide the reader's.
RSS_SCRIPT = """
import json, sys
import django
django.setup()
from lowbao.imports.readers import open_table

def peak():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024

def read(path):
    with open_table(path, required_headers=["户编号", "姓名", "身份证号"]) as table:
        return sum(1 for _row in table.rows())

counts = [read(sys.argv[1])]
after_small = peak()
counts.append(read(sys.argv[2]))
print(json.dumps({"counts": counts, "extra": peak() - after_small}))
"""


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_a_large_sheet_needs_no_more_resident_memory_than_a_small_one(large_roster, tmp_path):
    """tracemalloc sees only Python objects; lxml's trees live in C. In a fresh process, reading
    the large sheet after a small one may raise the peak resident size only by the shared-string
    offsets and merge arrays (about 1 MB here); a tree kept alive (rows, or the ``<mergeCells>``
    after them) costs 10 MB or more on this sheet."""
    small = corpus.write_large_xlsx(tmp_path / "small.xlsx", LARGE_ROWS // 10)
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "lowbao.settings.test"}

    result = subprocess.run(
        [sys.executable, "-c", RSS_SCRIPT, str(small), str(large_roster)],
        capture_output=True,
        check=True,
        cwd=Path(__file__).resolve().parents[3],
        env=environment,
        text=True,
        timeout=600,
    )
    measured = json.loads(result.stdout.strip().splitlines()[-1])

    assert measured["counts"] == [LARGE_ROWS // 10, LARGE_ROWS]
    assert measured["extra"] < 4 * 1024 * 1024, f"{measured['extra'] / 1024 / 1024:.1f} MB"
