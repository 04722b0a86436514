"""Safety checks every uploaded ledger passes before any parser sees it (ledgers.md §1 "Safety",
quality.md S6).

``check_file`` decides the file's kind from its content (magic bytes), never from the extension
alone, and refuses anything that is not safe to hand to openpyxl, xlrd or the csv module:

* size: the file itself is at most ``LOWBAO_IMPORT_MAX_BYTES`` (default 50 MiB);
* ``.xlsx``: the zip directory is checked *without extracting* (total uncompressed size, member
  count, compression ratio per member), then every XML part is streamed through a small buffer
  looking for ``<!DOCTYPE``/``<!ENTITY`` (also in UTF-16), so an entity bomb or an external
  entity never reaches a parser; macros (``vbaProject.bin``, a macro-enabled content type,
  ``.xlsm``/``.xltm``) are refused, never run;
* OLE2 (``.xls`` and encrypted OOXML): the compound-file directory is read; an
  ``EncryptionInfo``/``EncryptedPackage`` pair (a password-protected ``.xlsx``), a BIFF
  ``FILEPASS`` record (a password-protected ``.xls``) or a VBA storage is refused;
* CSV: text only, so any NUL byte (binary content) is refused, except in UTF-16 text with a BOM.

A stored upload is checked again whenever it is opened (``check_stored``), except when this
process has already passed the very same content: its SHA-256, computed from the stream as it is
opened, is one ``check_file`` passed here under the same extension and limits
(``remember_passed``), so the scan would decide exactly as it did (the command line checks the
file when it stores it, then opens it to parse it). Any other stored file, a file changed or
swapped on disk since, or one opened by another process (a Celery worker) is checked in full.

Every refusal is ``UnreadableFile(code, message)`` with a Chinese message for the user;
``import_ledger`` turns it into exit code 2 (contracts.md).
"""

import hashlib
import io
import mmap
import re
import struct
import threading
import zipfile
import zlib
from collections import OrderedDict
from pathlib import Path, PurePath
from typing import BinaryIO, Literal

from defusedxml import ElementTree as SafeElementTree
from defusedxml.common import DefusedXmlException
from django.conf import settings
from xlrd.compdoc import CompDoc, CompDocError

FileKind = Literal["xlsx", "xls", "csv"]

MIB = 1024 * 1024
DEFAULT_MAX_BYTES = 50 * MIB
# A 500,000-row sheet is a few hundred MB of XML; past this the file is refused whatever the ratio.
DEFAULT_MAX_UNCOMPRESSED_BYTES = 1024 * MIB
MAX_COMPRESSION_RATIO = 100
# Parts smaller than this cannot hurt whatever their ratio (an empty styles part compresses 200:1).
RATIO_CHECK_MIN_BYTES = MIB
MAX_ZIP_MEMBERS = 10_000
CHUNK_BYTES = 64 * 1024

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
MACRO_EXTENSIONS = {".xlsm", ".xltm", ".xlam"}
TEXT_EXTENSIONS = {".csv", ".txt"}
XLSX_MAIN_CONTENT_TYPES = {
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml",
}
CONTENT_TYPES_NS = "{http://schemas.openxmlformats.org/package/2006/content-types}"
BIFF_FILEPASS = 0x002F
BIFF_EOF = 0x000A
BIFF_BOF_RECORDS = {0x0809, 0x0409, 0x0209, 0x0009}

# "<!DOCTYPE" or "<!ENTITY", in UTF-8 and in UTF-16 (either byte order: a NUL may sit between
# every character), any case.
_DECLARATION = re.compile(
    rb"<\x00?!\x00?(?:d\x00?o\x00?c\x00?t\x00?y\x00?p\x00?e|e\x00?n\x00?t\x00?i\x00?t\x00?y)",
    re.IGNORECASE,
)
_DECLARATION_OVERLAP = 32

# Other binary formats people rename to .xlsx; named in the message so the user knows what they
# uploaded.
_OTHER_FORMATS = [
    (b"\x89PNG", "PNG 图片"),
    (b"\xff\xd8\xff", "JPEG 图片"),
    (b"GIF8", "GIF 图片"),
    (b"%PDF", "PDF 文档"),
    (b"Rar!", "RAR 压缩包"),
    (b"7z\xbc\xaf\x27\x1c", "7z 压缩包"),
    (b"\x1f\x8b", "gzip 压缩包"),
    (b"BM", None),
]

MESSAGES = {
    "file_empty": "文件是空的（0 字节），请检查是否选错了文件",
    "not_a_spreadsheet": "文件不是 Excel 表格（.xlsx/.xls）或 CSV 文件，无法读取",
    "zip_bomb": "文件解压后异常巨大（疑似压缩炸弹），为安全起见已拒绝读取",
    "xml_entity": "文件含有 XML 实体声明（DOCTYPE/ENTITY），可能是恶意构造的文件，已拒绝读取",
    "macro_enabled": "文件含有宏（VBA），为安全起见不予读取；请另存为不含宏的 .xlsx 文件后再导入",
    "password_protected": "文件设有打开密码（已加密），无法读取；请取消密码后再导入",
    "bad_zip": "文件已损坏或不完整（可能上传中断），无法作为 .xlsx 打开；请重新保存后再导入",
}


class UnreadableFile(Exception):
    """The file cannot be read at all: ``import_ledger`` exits with code 2.

    A plain exception rather than a frozen dataclass: ``contextlib`` sets ``__traceback__`` on an
    exception that passes through a ``with`` block, which a frozen dataclass refuses."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


def _refuse(code: str, message: str | None = None) -> UnreadableFile:
    return UnreadableFile(code, message or MESSAGES[code])


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def check_file(
    source: Path | BinaryIO,
    *,
    name: str | None = None,
    max_bytes: int | None = None,
    max_uncompressed_bytes: int | None = None,
) -> FileKind:
    """The kind of the file ("xlsx", "xls" or "csv"), decided by its content, once it passed
    every safety check; otherwise ``UnreadableFile``. ``source`` is a path or a seekable binary
    file object (a stored file decrypted in memory; left open, at an undefined position), whose
    extension, for the checks that use it, is that of ``name`` (default: its ``name``). Reads the
    file as a stream: memory stays small whatever the file holds."""
    if max_bytes is None:
        max_bytes = _setting("LOWBAO_IMPORT_MAX_BYTES", DEFAULT_MAX_BYTES)
    if max_uncompressed_bytes is None:
        max_uncompressed_bytes = _setting(
            "LOWBAO_IMPORT_MAX_UNCOMPRESSED_BYTES", DEFAULT_MAX_UNCOMPRESSED_BYTES
        )
    if isinstance(source, str | Path):
        path = Path(source)
        try:
            stream = path.open("rb")
        except OSError as exc:
            raise _refuse("not_a_spreadsheet", "文件不存在或无法打开") from exc
        with stream:
            return _check_stream(stream, name or path.name, max_bytes, max_uncompressed_bytes)
    return _check_stream(
        source, name or str(getattr(source, "name", "")), max_bytes, max_uncompressed_bytes
    )


# Contents this process has passed (``remember_passed``): (SHA-256, extension, limits) → kind.
# Bounded (the oldest forgotten first): forgetting one only means scanning it again.
PASSED_KEPT = 64
_PASSED: "OrderedDict[tuple[str, str, int, int], FileKind]" = OrderedDict()
_PASSED_LOCK = threading.Lock()  # web servers run threads


def _passed_key(sha256: str, name: str) -> tuple[str, str, int, int]:
    """What decides ``check_file``'s result besides the content: the extension and the limits
    as configured now."""
    return (
        sha256,
        PurePath(name).suffix.lower(),
        _setting("LOWBAO_IMPORT_MAX_BYTES", DEFAULT_MAX_BYTES),
        _setting("LOWBAO_IMPORT_MAX_UNCOMPRESSED_BYTES", DEFAULT_MAX_UNCOMPRESSED_BYTES),
    )


def remember_passed(sha256: str, *, name: str, kind: FileKind) -> None:
    """The content whose SHA-256 is ``sha256`` has just passed ``check_file`` as ``kind`` under
    ``name`` with the configured limits (not with limits passed as arguments)."""
    key = _passed_key(sha256, name)
    with _PASSED_LOCK:
        _PASSED[key] = kind
        _PASSED.move_to_end(key)
        while len(_PASSED) > PASSED_KEPT:
            _PASSED.popitem(last=False)


def _stream_sha256(stream: BinaryIO) -> str:
    sha = hashlib.sha256()
    stream.seek(0)
    while chunk := stream.read(MIB):
        sha.update(chunk)
    return sha.hexdigest()


def check_stored(stream: BinaryIO, *, name: str, sha256: str) -> FileKind:
    """``check_file`` of a stored upload (configured limits) whose content should have the
    SHA-256 ``sha256``: the scan is skipped only when this process passed that content under the
    same extension and limits, proven by the digest of ``stream`` computed here (the stored file
    is read once more, decrypted, far cheaper than the scan). Otherwise the full check."""
    key = _passed_key(sha256, name)
    with _PASSED_LOCK:
        kind = _PASSED.get(key)
    if kind is not None and _stream_sha256(stream) == sha256:
        return kind
    return check_file(stream, name=name)


def _check_stream(
    stream: BinaryIO, name: str, max_bytes: int, max_uncompressed_bytes: int
) -> FileKind:
    suffix = PurePath(name).suffix.lower()
    size = stream.seek(0, io.SEEK_END)
    if size == 0:
        raise _refuse("file_empty")
    if size > max_bytes:
        raise _refuse(
            "file_too_large",
            f"文件过大（{_megabytes(size)} MB），超过上限 {_megabytes(max_bytes)} MB；"
            "请按苏木乡镇拆分成几个文件分别导入",
        )
    stream.seek(0)
    head = stream.read(512)
    if head.startswith(ZIP_MAGICS):
        _check_xlsx(stream, suffix, max_uncompressed_bytes)
        return "xlsx"
    if head.startswith(OLE2_MAGIC):
        _check_ole2(stream)
        return "xls"
    _check_text(stream, suffix, head)
    return "csv"


def _megabytes(size: int) -> str:
    return f"{size / MIB:.1f}".removesuffix(".0")


# --- .xlsx ------------------------------------------------------------------------------------


def _check_xlsx(stream: BinaryIO, suffix: str, max_uncompressed_bytes: int) -> None:
    try:
        archive = zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise _refuse("bad_zip") from exc
    with archive:
        members = archive.infolist()
        _check_zip_directory(members, max_uncompressed_bytes)
        names = {member.filename for member in members}
        if suffix in MACRO_EXTENSIONS or any(
            name.lower().endswith("vbaproject.bin") for name in names
        ):
            raise _refuse("macro_enabled")
        if any(member.flag_bits & 0x1 for member in members):
            raise _refuse("password_protected")
        for member in members:
            if _is_xml_part(member.filename):
                _scan_part_for_declarations(archive, member)
        if "[Content_Types].xml" not in names:
            raise _refuse("not_a_spreadsheet", "压缩包不是 Excel 表格（.xlsx），无法读取")
        content_types = _content_types(archive)
        if any(".sheet.binary." in content_type.lower() for content_type in content_types):
            raise _refuse(
                "not_a_spreadsheet",
                "不支持 Excel 二进制工作簿（.xlsb）；请用 Excel 打开后另存为 .xlsx 再导入",
            )
        if any("macroenabled" in content_type.lower() for content_type in content_types):
            raise _refuse("macro_enabled")
        if not content_types & XLSX_MAIN_CONTENT_TYPES:
            raise _refuse(
                "not_a_spreadsheet", "文件不是 Excel 表格（可能是 Word 或其他文档），无法读取"
            )


def _check_zip_directory(members: list[zipfile.ZipInfo], max_uncompressed_bytes: int) -> None:
    """From the central directory only: nothing is decompressed here. The sizes it declares are
    binding, since ``zipfile`` stops at the declared size and then fails the CRC check."""
    if len(members) > MAX_ZIP_MEMBERS:
        raise _refuse("zip_bomb")
    total = 0
    for member in members:
        total += member.file_size
        if total > max_uncompressed_bytes:
            raise _refuse("zip_bomb")
        if (
            member.file_size > RATIO_CHECK_MIN_BYTES
            and member.file_size > MAX_COMPRESSION_RATIO * max(member.compress_size, 1)
        ):
            raise _refuse("zip_bomb")


def _is_xml_part(name: str) -> bool:
    return name.lower().endswith((".xml", ".rels", ".vml"))


def _scan_part_for_declarations(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> None:
    """A DOCTYPE can hide anywhere a parser would accept it; the part is streamed in small chunks
    with an overlap so a declaration split across two chunks is still seen."""
    tail = b""
    try:
        with archive.open(member) as part:
            while chunk := part.read(CHUNK_BYTES):
                window = tail + chunk
                # Every declaration starts "<!" or "<\0!": looked for first at C speed.
                if (b"<!" in window or b"<\x00!" in window) and _DECLARATION.search(window):
                    raise _refuse("xml_entity")
                tail = window[-_DECLARATION_OVERLAP:]
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as exc:
        raise _refuse("bad_zip") from exc
    except RuntimeError as exc:  # an encrypted member
        raise _refuse("password_protected") from exc


def _content_types(archive: zipfile.ZipFile) -> set[str]:
    try:
        with archive.open("[Content_Types].xml") as part:
            root = SafeElementTree.parse(part, forbid_dtd=True).getroot()
    except DefusedXmlException as exc:
        raise _refuse("xml_entity") from exc
    except (SafeElementTree.ParseError, zipfile.BadZipFile, zlib.error, ValueError) as exc:
        raise _refuse("bad_zip") from exc
    return {
        element.get("ContentType", "")
        for element in root.iter()
        if element.tag in {f"{CONTENT_TYPES_NS}Override", f"{CONTENT_TYPES_NS}Default"}
    }


# --- OLE2: .xls and encrypted OOXML -------------------------------------------------------------


def _check_ole2(stream: BinaryIO) -> None:
    """A file on disk is mapped; a decrypted stream is read into memory (xlrd reads an .xls
    whole anyway)."""
    try:
        fileno = stream.fileno()
    except (OSError, AttributeError):  # io.UnsupportedOperation is an OSError
        stream.seek(0)
        _check_compound_document(stream.read())
        return
    with mmap.mmap(fileno, 0, access=mmap.ACCESS_READ) as data:
        _check_compound_document(data)


def _check_compound_document(data: mmap.mmap | bytes) -> None:
    try:
        document = CompDoc(data, logfile=io.StringIO())
    except (CompDocError, struct.error, IndexError, ValueError) as exc:
        raise _refuse("not_a_spreadsheet", "文件已损坏，无法作为 .xls 打开") from exc
    names = {entry.name.lower() for entry in document.dirlist}
    if {"encryptioninfo", "encryptedpackage"} & names:
        raise _refuse("password_protected")
    if {"_vba_project_cur", "_vba_project", "vba"} & names:
        raise _refuse("macro_enabled")
    for stream_name in ("Workbook", "Book"):
        if stream_name.lower() in names:
            try:
                stream, offset, length = document.locate_named_stream(stream_name)
            except (CompDocError, struct.error, IndexError, ValueError) as exc:
                raise _refuse("not_a_spreadsheet", "文件已损坏，无法作为 .xls 打开") from exc
            if stream is None:
                continue
            _check_biff_globals(stream, offset, offset + length)
            return
    raise _refuse(
        "not_a_spreadsheet", "文件不是 Excel 表格（可能是 Word 或其他 Office 文档），无法读取"
    )


def _check_biff_globals(stream: bytes, start: int, end: int) -> None:
    """A password-protected .xls has a FILEPASS record among the workbook globals, right after
    the BOF; the walk stops at the globals' EOF."""
    position = start
    if end - start < 4 or struct.unpack_from("<H", stream, start)[0] not in BIFF_BOF_RECORDS:
        raise _refuse("not_a_spreadsheet", "文件已损坏，无法作为 .xls 打开")
    while position + 4 <= end:
        record, length = struct.unpack_from("<HH", stream, position)
        if record == BIFF_FILEPASS:
            raise _refuse("password_protected")
        if record == BIFF_EOF:
            return
        position += 4 + length


# --- CSV ----------------------------------------------------------------------------------------


def _check_text(stream: BinaryIO, suffix: str, head: bytes) -> None:
    for magic, label in _OTHER_FORMATS:
        if head.startswith(magic) and (label or b"\x00" in head):
            what = f" {label}" if label else "二进制文件"
            raise _refuse(
                "not_a_spreadsheet", f"文件实际是{what}，不是 Excel 表格或 CSV 文件，无法读取"
            )
    sniff = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if sniff.startswith((b"<html", b"<!doctype html", b"<table", b"<?xml", b"<meta")):
        raise _refuse(
            "not_a_spreadsheet",
            "文件实际是网页或 XML 格式（常见于从其他系统“导出为 Excel”），不是真正的 Excel 表格；"
            "请用 Excel 打开后另存为 .xlsx 再导入",
        )
    if suffix not in TEXT_EXTENSIONS:
        raise _refuse(
            "not_a_spreadsheet",
            f"文件扩展名为 {suffix or '（无）'}，但内容不是 Excel 表格，无法读取",
        )
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return  # UTF-16 text with a BOM: NUL bytes are part of every ASCII character
    stream.seek(0)
    while chunk := stream.read(CHUNK_BYTES):
        if b"\x00" in chunk:
            raise _refuse(
                "not_a_spreadsheet", "文件含有二进制内容，不是文本格式的 CSV 文件，无法读取"
            )
