"""Files that must never reach a parser (ledgers.md §1 "Safety", quality.md S6): every refusal of
``check_file`` / ``open_table`` with its exact code and Chinese message."""

import zipfile
from pathlib import Path

import pytest

from lowbao.imports.readers import open_table
from lowbao.imports.safety import UnreadableFile, check_file
from tests.lowbao.imports import corpus

ROSTER_REQUIRED = ["户编号", "姓名", "身份证号"]

MESSAGES = {
    "zip_bomb": "文件解压后异常巨大（疑似压缩炸弹），为安全起见已拒绝读取",
    "xml_entity": "文件含有 XML 实体声明（DOCTYPE/ENTITY），可能是恶意构造的文件，已拒绝读取",
    "macro_enabled": "文件含有宏（VBA），为安全起见不予读取；请另存为不含宏的 .xlsx 文件后再导入",
    "password_protected": "文件设有打开密码（已加密），无法读取；请取消密码后再导入",
    "bad_zip": "文件已损坏或不完整（可能上传中断），无法作为 .xlsx 打开；请重新保存后再导入",
    "file_empty": "文件是空的（0 字节），请检查是否选错了文件",
}


def _refusal(path: Path) -> UnreadableFile:
    with pytest.raises(UnreadableFile) as caught:
        check_file(path)
    return caught.value


# --- the whole corpus -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("_case", "generate", "code"),
    corpus.BAD_FILES,
    ids=[case for case, _generate, _code in corpus.BAD_FILES],
)
def test_every_bad_file_in_the_corpus_is_refused_with_its_code(tmp_path, _case, generate, code):
    path = generate(tmp_path)

    with pytest.raises(UnreadableFile) as caught:
        open_table(path, required_headers=ROSTER_REQUIRED)

    assert caught.value.code == code
    assert caught.value.message


# --- each safety code with its exact message ------------------------------------------------------


@pytest.mark.parametrize(
    ("_case", "generate", "code"),
    [
        ("zip bomb", corpus.write_zip_bomb, "zip_bomb"),
        ("billion laughs", corpus.write_entity_bomb, "xml_entity"),
        ("external entity", corpus.write_external_entity, "xml_entity"),
        ("UTF-16 DOCTYPE", corpus.write_utf16_entity, "xml_entity"),
        (".xlsm", corpus.write_macro_xlsm, "macro_enabled"),
        ("vbaProject.bin in an .xlsx", corpus.write_macro_renamed_xlsx, "macro_enabled"),
        ("macro-enabled content type", corpus.write_macro_content_type, "macro_enabled"),
        (".xls with VBA", corpus.write_xls_with_macros, "macro_enabled"),
        ("encrypted OOXML", corpus.write_encrypted_xlsx, "password_protected"),
        ("FILEPASS .xls", corpus.write_encrypted_xls, "password_protected"),
        ("truncated upload", corpus.write_truncated_xlsx, "bad_zip"),
        ("damaged part", corpus.write_corrupt_member_xlsx, "bad_zip"),
        ("empty file", corpus.write_empty_file, "file_empty"),
    ],
)
def test_check_file_refuses_with_the_exact_message(tmp_path, _case, generate, code):
    refusal = _refusal(generate(tmp_path))

    assert (refusal.code, refusal.message) == (code, MESSAGES[code])


@pytest.mark.parametrize(
    ("_case", "generate", "message"),
    [
        (
            "text renamed .xlsx",
            corpus.write_text_as_xlsx,
            "文件扩展名为 .xlsx，但内容不是 Excel 表格，无法读取",
        ),
        (
            "PNG renamed .xlsx",
            corpus.write_png_as_xlsx,
            "文件实际是 PNG 图片，不是 Excel 表格或 CSV 文件，无法读取",
        ),
        (
            "HTML table saved as .xls",
            corpus.write_html_as_xls,
            "文件实际是网页或 XML 格式（常见于从其他系统“导出为 Excel”），不是真正的 Excel 表格；"
            "请用 Excel 打开后另存为 .xlsx 再导入",
        ),
        (
            ".docx renamed .xlsx",
            corpus.write_docx_as_xlsx,
            "文件不是 Excel 表格（可能是 Word 或其他文档），无法读取",
        ),
        (
            ".doc renamed .xls",
            corpus.write_doc_as_xls,
            "文件不是 Excel 表格（可能是 Word 或其他 Office 文档），无法读取",
        ),
        (
            "zip of photos renamed .xlsx",
            corpus.write_zip_as_xlsx,
            "压缩包不是 Excel 表格（.xlsx），无法读取",
        ),
        (
            ".xlsb",
            corpus.write_xlsb,
            "不支持 Excel 二进制工作簿（.xlsb）；请用 Excel 打开后另存为 .xlsx 再导入",
        ),
        (
            "NUL bytes in a .csv",
            corpus.write_binary_csv,
            "文件含有二进制内容，不是文本格式的 CSV 文件，无法读取",
        ),
    ],
)
def test_a_file_that_is_not_a_spreadsheet_says_what_it_is(tmp_path, _case, generate, message):
    refusal = _refusal(generate(tmp_path))

    assert (refusal.code, refusal.message) == ("not_a_spreadsheet", message)


def test_a_file_over_the_default_limit_is_too_large(tmp_path):
    refusal = _refusal(corpus.write_too_large(tmp_path, megabytes=51))

    assert (refusal.code, refusal.message) == (
        "file_too_large",
        "文件过大（51 MB），超过上限 50 MB；请按苏木乡镇拆分成几个文件分别导入",
    )


def test_the_size_limit_comes_from_settings(tmp_path, settings):
    settings.LOWBAO_IMPORT_MAX_BYTES = 1024 * 1024
    path = corpus.write_too_large(tmp_path, megabytes=2)

    refusal = _refusal(path)

    assert (refusal.code, refusal.message) == (
        "file_too_large",
        "文件过大（2 MB），超过上限 1 MB；请按苏木乡镇拆分成几个文件分别导入",
    )


def test_an_explicit_size_limit_overrides_settings(tmp_path):
    path = corpus.write_roster_xlsx(tmp_path)

    with pytest.raises(UnreadableFile) as caught:
        check_file(path, max_bytes=1000)

    assert caught.value.code == "file_too_large"


def test_the_zip_bomb_is_caught_from_the_directory_without_inflating_anything(
    tmp_path, monkeypatch
):
    path = corpus.write_zip_bomb(tmp_path)

    def no_extraction(*args, **kwargs):
        raise AssertionError("a member was opened before the directory check")

    monkeypatch.setattr(zipfile.ZipFile, "open", no_extraction)

    assert _refusal(path).code == "zip_bomb"


def test_a_package_whose_parts_add_up_past_the_limit_is_a_zip_bomb(tmp_path):
    path = corpus.write_roster_xlsx(tmp_path)

    with pytest.raises(UnreadableFile) as caught:
        check_file(path, max_uncompressed_bytes=2000)

    assert (caught.value.code, caught.value.message) == ("zip_bomb", MESSAGES["zip_bomb"])


def test_a_well_compressed_real_sheet_is_not_mistaken_for_a_bomb(tmp_path):
    path = corpus.write_large_xlsx(tmp_path / "large.xlsx", 20_000)

    assert check_file(path) == "xlsx"


def test_the_unreadable_file_error_shows_code_and_message():
    error = UnreadableFile("file_empty", MESSAGES["file_empty"])

    assert str(error) == "file_empty: 文件是空的（0 字节），请检查是否选错了文件"


# --- the kind comes from the content, not the extension ------------------------------------------


@pytest.mark.parametrize(
    ("_case", "generate", "name", "kind"),
    [
        ("xlsx", corpus.write_roster_xlsx, "roster.xlsx", "xlsx"),
        ("xlsx renamed .xls", corpus.write_roster_xlsx, "roster.xls", "xlsx"),
        ("xlsx renamed .csv", corpus.write_roster_xlsx, "roster.csv", "xlsx"),
        ("xls", corpus.write_roster_xls, "roster.xls", "xls"),
        ("xls renamed .xlsx", corpus.write_roster_xls, "roster.xlsx", "xls"),
        ("csv", corpus.write_csv_utf8, "roster.csv", "csv"),
        ("csv saved as .txt", corpus.write_csv_gbk, "roster.txt", "csv"),
        ("UTF-16 csv (NUL bytes are text)", corpus.write_csv_utf16_tabs, "roster.csv", "csv"),
    ],
)
def test_the_kind_is_decided_by_content(tmp_path, _case, generate, name, kind):
    path = generate(tmp_path, name)

    assert check_file(path) == kind


@pytest.mark.parametrize(
    ("_case", "generate", "name"),
    [
        ("xlsx renamed .xls", corpus.write_roster_xlsx, "roster.xls"),
        ("xls renamed .xlsx", corpus.write_roster_xls, "roster.xlsx"),
    ],
)
def test_a_renamed_workbook_is_still_read(tmp_path, _case, generate, name):
    path = generate(tmp_path, name)

    with open_table(path, required_headers=ROSTER_REQUIRED) as table:
        numbers = [row.number for row in table.rows()]

    assert numbers == [4, 5, 6, 8]


def test_a_missing_file_is_refused(tmp_path):
    refusal = _refusal(tmp_path / "nowhere.xlsx")

    assert (refusal.code, refusal.message) == ("not_a_spreadsheet", "文件不存在或无法打开")
