"""The streaming ``.xlsx`` writer: text cells for sensitive columns, masking unless revealed,
formula-looking text neutralised, numbers as numbers, and a file the ledger reader accepts."""

from datetime import date
from decimal import Decimal

import pytest

from lowbao.core.errors import DomainError
from lowbao.exports.writer import XlsxExportWriter
from lowbao.imports import readers
from tests.lowbao.exports.helpers import read_cell_types, read_cells
from tests.lowbao.people.factories import make_id_number

ID = make_id_number()
ACCOUNT = "6228480012345678901"
PHONE = "13800001111"
HEADERS = ("户编号", "姓名", "身份证号", "银行账号", "联系电话", "金额", "日期", "备注")


def write(tmp_path, rows, *, reveal=False, title="标题"):
    path = tmp_path / "out.xlsx"
    with XlsxExportWriter(
        path,
        headers=HEADERS,
        title=title,
        sheet_name="名单[1]",
        id_columns={"身份证号"},
        account_columns={"银行账号"},
        phone_columns={"联系电话"},
        reveal=reveal,
    ) as writer:
        count = writer.write_rows(rows)
    return path, count


def row(**values):
    base = {
        "户编号": "001",
        "姓名": "张三",
        "身份证号": ID,
        "银行账号": ACCOUNT,
        "联系电话": PHONE,
        "金额": Decimal("680.50"),
        "日期": date(2026, 7, 1),
        "备注": None,
    }
    base.update(values)
    return [base[header] for header in HEADERS]


def test_sensitive_columns_are_masked_text_cells_by_default(tmp_path):
    path, count = write(tmp_path, [row()])

    cells = read_cells(path)
    assert count == 1
    assert cells[0][0] == "标题"
    assert tuple(cells[1]) == HEADERS
    assert cells[2] == [
        "001",
        "张三",
        ID[:6] + "********" + ID[14:],
        "622848*********8901",
        "138****1111",
        680.5,
        "2026-07-01",
        None,
    ]
    assert read_cell_types(path)[2][:6] == ["s", "s", "s", "s", "s", "n"]


def test_revealed_columns_keep_full_values_as_text(tmp_path):
    path, _count = write(tmp_path, [row(银行账号=6228480012345678901)], reveal=True)

    cells = read_cells(path)
    assert cells[2][2:5] == [ID, ACCOUNT, PHONE]
    assert read_cell_types(path)[2][2:5] == ["s", "s", "s"]


@pytest.mark.parametrize(
    ("text", "written"),
    [
        pytest.param("=SUM(A1:A9)", " =SUM(A1:A9)", id="equals_case"),
        pytest.param("+86 138", " +86 138", id="plus_case"),
        pytest.param("-1", " -1", id="minus_case"),
        pytest.param("@cmd", " @cmd", id="at_case"),
        pytest.param("\t=1", " \t=1", id="tab_case"),
        pytest.param("正常文本", "正常文本", id="plain_case"),
    ],
)
def test_formula_looking_text_is_neutralised_and_stays_a_string(tmp_path, text, written):
    path, _count = write(tmp_path, [row(姓名=text, 备注=text)])

    cells = read_cells(path)
    assert (cells[2][1], cells[2][7]) == (written, written)
    types = read_cell_types(path)[2]
    assert (types[1], types[7]) == ("s", "s")


def test_title_is_neutralised_too(tmp_path):
    path, _count = write(tmp_path, [], title="=HYPERLINK(1)")

    assert read_cells(path)[0][0] == " =HYPERLINK(1)"


def test_a_row_of_the_wrong_width_is_refused(tmp_path):
    with pytest.raises(ValueError, match="row 1 has 2 values, not 8"):
        write(tmp_path, [["a", "b"]])


def test_progress_is_reported_every_n_rows(tmp_path):
    path = tmp_path / "out.xlsx"
    seen = []
    with XlsxExportWriter(path, headers=("a",), title="t", sheet_name="s") as writer:
        writer.write_rows(([str(i)] for i in range(25)), progress=seen.append, progress_every=10)

    assert seen == [10, 20]
    assert len(read_cells(path)) == 27


def test_sensitive_columns_must_be_headers(tmp_path):
    with pytest.raises(ValueError, match="not in the headers"):
        XlsxExportWriter(
            tmp_path / "x.xlsx", headers=("a",), title="t", sheet_name="s", id_columns={"身份证号"}
        )


def test_the_ledger_reader_finds_the_header_under_the_title_row(tmp_path):
    path, _count = write(tmp_path, [row(), row(户编号="002")], reveal=True)

    with readers.open_table(
        path, sheet=None, required_headers=("户编号", "身份证号"), aliases={}
    ) as table:
        rows = list(table.rows())

    assert [(r.number, r.values["户编号"], r.values["身份证号"]) for r in rows] == [
        (3, "001", ID),
        (4, "002", ID),
    ]
    assert all(not r.numeric_cells & {"身份证号", "银行账号"} for r in rows)


def test_more_rows_than_excel_holds_are_refused(tmp_path):
    path = tmp_path / "out.xlsx"
    with (
        pytest.raises(DomainError) as error,
        XlsxExportWriter(path, headers=("a",), title="t", sheet_name="s", max_rows=2) as writer,
    ):
        writer.write_rows([["1"], ["2"], ["3"]])

    assert error.value.code == "export_too_many_rows"
