"""Uploaded ledger files at rest: encrypted, read back in memory, deleted after their retention
(quality.md S4).

A stored file is ``MEDIA_ROOT/imports/<sha[:2]>/<sha256>.<format>``, named by the SHA-256 of its
*plain* content (the same file uploaded twice is one batch and one stored file). Its bytes are
AES-256-GCM in fixed-size chunks, so neither writing nor reading holds the whole file in memory:

- header: ``MAGIC`` (8 bytes) · format version (1 byte) · key id length (1 byte) · key id (ASCII)
  · chunk size (4 bytes, big-endian) · plain size (8 bytes, big-endian);
- then ``ceil(plain size / chunk size)`` chunks (one empty chunk for an empty file), each a fresh
  random 12-byte nonce · ciphertext · 16-byte tag. The associated data of chunk *i* is the header
  · *i* (8 bytes) · 1 for the last chunk else 0: a chunk cannot be moved, dropped, swapped with
  another file's or relabelled to another key, and a truncated file fails.

The key is derived (HKDF-SHA256, per key id) from the field-protection key of that id
(``FIELD_ENCRYPTION_KEYS``, ``FIELD_ENCRYPTION_CURRENT_KEY_ID``; ``lowbao.people.protection``):
new files use the current key, and a file names its key in its header so old keys keep working
until ``rotate_import_file_keys`` has moved every file to the current one.

``open_decrypted`` returns a seekable binary file object that decrypts chunk by chunk on demand
(a few chunks cached): ``zipfile`` reads an ``.xlsx`` from it, the CSV reader wraps it in a text
wrapper, ``.xls`` is read into memory (xlrd loads a sheet whole anyway). Plain text never touches
the disk. A file without the header is a plain file stored before encryption (still read, and
encrypted by migration ``0005`` or the rotation command). A wrong key or a damaged file raises
``StoredFileError`` (an ``UnreadableFile``: the batch is rejected with a clear message).

Retention: ``import_files_purge`` deletes the stored files of batches that are applied, rejected
or failed and untouched for ``LOWBAO_IMPORT_FILE_RETENTION_DAYS`` days (periodic task); the
batch keeps its staging (masked) and counts, and a re-check asks for the file again.
"""

import io
import logging
import os
import struct
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from lowbao.imports.models import ImportBatch, ImportStatus
from lowbao.imports.safety import UnreadableFile
from lowbao.people import protection

logger = logging.getLogger(__name__)

STORAGE_DIR = "imports"
MAGIC = b"LBIMPENC"
VERSION = 1
CHUNK_BYTES = 256 * 1024
NONCE_BYTES = 12
TAG_BYTES = 16
CACHED_CHUNKS = 4
HKDF_INFO = b"lowbao.imports.stored-file.v1:"
_FIXED = struct.Struct(">8sBB")  # magic, version, key id length
_TAIL = struct.Struct(">IQ")  # chunk size, plain size
PLAIN_KEY_ID = "(明文)"  # how a file stored before encryption is counted by the rotation
DEFAULT_RETENTION_DAYS = 30
PURGEABLE = (ImportStatus.APPLIED, ImportStatus.REJECTED, ImportStatus.FAILED)


class StoredFileError(UnreadableFile):
    """A stored file that cannot be decrypted. Never carries file content."""


def _key_unknown(key_id: str) -> StoredFileError:
    return StoredFileError(
        "stored_file_key_unknown",
        f"服务器上保存的原文件使用的加密密钥“{key_id}”未配置，无法读取；请联系系统管理员",
    )


def _damaged() -> StoredFileError:
    return StoredFileError(
        "stored_file_damaged",
        "服务器上保存的原文件已损坏或被篡改，无法解密；请重新上传该文件",
    )


def full_path(relative: str) -> Path:
    return Path(settings.MEDIA_ROOT) / relative


# --- keys ------------------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _derived_cipher(key_id: str, encoded: str) -> AESGCM:
    # The field key's own decoding rules (standard or URL-safe base64, strictly validated).
    key = protection.field_key_bytes(key_id, encoded)
    derived = HKDF(
        algorithm=hashes.SHA256(),
        length=protection.AES_KEY_BYTES,
        salt=None,
        info=HKDF_INFO + key_id.encode("ascii"),
    ).derive(key)
    return AESGCM(derived)


def _cipher(key_id: str) -> AESGCM:
    keys = dict(getattr(settings, "FIELD_ENCRYPTION_KEYS", None) or {})
    encoded = keys.get(key_id)
    if not encoded:
        raise _key_unknown(key_id)
    return _derived_cipher(key_id, str(encoded))


def current_key_id() -> str:
    """The key new files are written under (validates the whole key configuration)."""
    return protection.current_key_id()


# --- format ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Header:
    raw: bytes
    key_id: str
    chunk_size: int
    plain_size: int

    @property
    def chunks(self) -> int:
        return max(1, -(-self.plain_size // self.chunk_size))

    def sealed_size(self, index: int) -> int:
        """Bytes on disk of chunk ``index`` (nonce, ciphertext, tag)."""
        last = self.chunks - 1
        plain = self.chunk_size if index < last else self.plain_size - last * self.chunk_size
        return NONCE_BYTES + plain + TAG_BYTES

    def offset(self, index: int) -> int:
        return len(self.raw) + index * (NONCE_BYTES + self.chunk_size + TAG_BYTES)

    def file_size(self) -> int:
        return self.offset(self.chunks - 1) + self.sealed_size(self.chunks - 1)

    def associated_data(self, index: int) -> bytes:
        return self.raw + struct.pack(">QB", index, index == self.chunks - 1)


def _header(key_id: str, chunk_size: int, plain_size: int) -> _Header:
    encoded = key_id.encode("ascii")
    raw = _FIXED.pack(MAGIC, VERSION, len(encoded)) + encoded + _TAIL.pack(chunk_size, plain_size)
    return _Header(raw, key_id, chunk_size, plain_size)


def _read_header(stream: BinaryIO) -> _Header | None:
    """The header at the start of ``stream``; ``None`` for a plain (legacy) file."""
    stream.seek(0)
    fixed = stream.read(_FIXED.size)
    if len(fixed) < _FIXED.size or not fixed.startswith(MAGIC):
        return None
    _magic, version, key_length = _FIXED.unpack(fixed)
    key_bytes = stream.read(key_length)
    tail = stream.read(_TAIL.size)
    if version != VERSION or len(key_bytes) != key_length or len(tail) != _TAIL.size:
        raise _damaged()
    chunk_size, plain_size = _TAIL.unpack(tail)
    try:
        key_id = key_bytes.decode("ascii")
    except UnicodeDecodeError:
        raise _damaged() from None
    if not key_id or chunk_size == 0:
        raise _damaged()
    return _Header(fixed + key_bytes + tail, key_id, chunk_size, plain_size)


def is_encrypted(relative: str) -> bool:
    with full_path(relative).open("rb") as stream:
        return stream.read(len(MAGIC)) == MAGIC


def key_id_of(relative: str) -> str:
    """The key id of a stored file, ``PLAIN_KEY_ID`` for a plain one."""
    with full_path(relative).open("rb") as stream:
        header = _read_header(stream)
    return PLAIN_KEY_ID if header is None else header.key_id


def _encrypt_stream(source: BinaryIO, plain_size: int, target: BinaryIO) -> None:
    key_id = current_key_id()
    cipher = _cipher(key_id)
    header = _header(key_id, CHUNK_BYTES, plain_size)
    target.write(header.raw)
    for index in range(header.chunks):
        plain = source.read(header.sealed_size(index) - NONCE_BYTES - TAG_BYTES)
        nonce = os.urandom(NONCE_BYTES)
        target.write(nonce)
        target.write(cipher.encrypt(nonce, plain, header.associated_data(index)))
    if source.read(1):
        raise OSError("the file changed while it was being stored")


def _write_atomically(target: Path, source: BinaryIO, plain_size: int) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.name}.{os.getpid()}.part")
    try:
        with partial.open("wb") as stream:
            _encrypt_stream(source, plain_size, stream)
            stream.flush()
            os.fsync(stream.fileno())
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)


def store_encrypted(source: Path | BinaryIO, relative: str) -> None:
    """Store the plain file ``source`` (a path, or a seekable binary stream such as an upload
    held in memory) encrypted at ``relative`` (under ``MEDIA_ROOT``). A content-addressed file
    already stored encrypted is kept; a plain one is replaced."""
    target = full_path(relative)
    if target.exists() and is_encrypted(relative):
        return
    if isinstance(source, Path):
        with source.open("rb") as stream:
            _write_atomically(target, stream, source.stat().st_size)
        return
    size = source.seek(0, io.SEEK_END)
    source.seek(0)
    _write_atomically(target, source, size)


def delete(relative: str) -> None:
    if relative:
        full_path(relative).unlink(missing_ok=True)


# --- reading ---------------------------------------------------------------------------------


class DecryptingReader(io.RawIOBase):
    """The plain bytes of an encrypted file, seekable; each chunk is decrypted (and
    authenticated) when first read, the last ``CACHED_CHUNKS`` kept."""

    def __init__(self, file: BinaryIO, header: _Header, name: str) -> None:
        super().__init__()
        self._file = file
        self._header = header
        self._cipher = _cipher(header.key_id)
        self._position = 0
        self._cache: OrderedDict[int, bytes] = OrderedDict()
        self.name = name

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            position = offset
        elif whence == io.SEEK_CUR:
            position = self._position + offset
        elif whence == io.SEEK_END:
            position = self._header.plain_size + offset
        else:
            raise ValueError(f"invalid whence {whence}")
        if position < 0:
            raise ValueError("negative seek position")
        self._position = position
        return position

    def _chunk(self, index: int) -> bytes:
        plain = self._cache.get(index)
        if plain is not None:
            self._cache.move_to_end(index)
            return plain
        header = self._header
        self._file.seek(header.offset(index))
        sealed = self._file.read(header.sealed_size(index))
        if len(sealed) != header.sealed_size(index):
            raise _damaged()
        try:
            plain = self._cipher.decrypt(
                sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], header.associated_data(index)
            )
        except InvalidTag:
            raise _damaged() from None
        self._cache[index] = plain
        if len(self._cache) > CACHED_CHUNKS:
            self._cache.popitem(last=False)
        return plain

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        wanted = len(buffer)
        size = self._header.plain_size
        if wanted == 0 or self._position >= size:
            return 0
        index, start = divmod(self._position, self._header.chunk_size)
        chunk = self._chunk(index)
        count = min(wanted, len(chunk) - start, size - self._position)
        buffer[:count] = memoryview(chunk)[start : start + count]
        self._position += count
        return count

    def close(self) -> None:
        if not self.closed:
            self._cache.clear()
            self._file.close()
        super().close()


def open_decrypted(relative: str) -> BinaryIO:
    """The stored file's plain content as a seekable binary file object (close it, or use it as
    a context manager). Raises ``FileNotFoundError`` when it is gone and ``StoredFileError`` when
    it cannot be decrypted (unknown key, damaged or tampered)."""
    path = full_path(relative)
    file = path.open("rb")
    try:
        header = _read_header(file)
        if header is None:  # stored before encryption: read as it is
            file.seek(0)
            return file
        if os.fstat(file.fileno()).st_size != header.file_size():
            raise _damaged()
        reader = DecryptingReader(file, header, name=path.name)
    except BaseException:
        file.close()
        raise
    return io.BufferedReader(reader, buffer_size=64 * 1024)  # type: ignore[return-value]


def reencrypt(relative: str) -> bool:
    """Move a stored file to the current key (or encrypt a plain one). Returns whether it was
    rewritten; a file already under the current key is left alone (re-runs are cheap). The new
    file replaces the old one atomically; a reader that opened the old one keeps reading it."""
    path = full_path(relative)
    with path.open("rb") as raw:
        header = _read_header(raw)
    if header is not None and header.key_id == current_key_id():
        return False
    with open_decrypted(relative) as plain:
        size = plain.seek(0, io.SEEK_END)
        plain.seek(0)
        _write_atomically(path, plain, size)
    return True


# --- rotation and retention ------------------------------------------------------------------


@dataclass
class FileRotation:
    before: dict[str, int] = field(default_factory=dict)  # files per key id before the run
    rotated: int = 0
    missing: int = 0
    unreadable: dict[str, int] = field(default_factory=dict)  # code -> files


def stored_files() -> list[str]:
    """Every stored file some batch points to (each once)."""
    return sorted(set(ImportBatch.objects.exclude(file="").values_list("file", flat=True)))


def import_files_rotate(*, dry_run: bool = False) -> FileRotation:
    """Re-encrypt every stored file not under the current key (plain ones included). Idempotent
    and safe to interrupt; ``dry_run`` only counts, and reads every file through (authenticating
    each chunk) so that one that cannot be decrypted is reported before an old key is removed."""
    result = FileRotation()
    current = current_key_id()
    for relative in stored_files():
        try:
            key_id = key_id_of(relative)
            result.before[key_id] = result.before.get(key_id, 0) + 1
            if dry_run:  # every file is read through: one that cannot be decrypted is reported
                with open_decrypted(relative) as plain:
                    while plain.read(CHUNK_BYTES):
                        pass
            elif key_id != current and reencrypt(relative):
                result.rotated += 1
        except FileNotFoundError:
            result.missing += 1
        except StoredFileError as exc:
            result.unreadable[exc.code] = result.unreadable.get(exc.code, 0) + 1
    return result


def retention_days() -> int:
    return int(getattr(settings, "LOWBAO_IMPORT_FILE_RETENTION_DAYS", DEFAULT_RETENTION_DAYS))


def import_files_purge(*, now: datetime | None = None) -> int:
    """Delete the stored files of batches that are applied, rejected or failed and have not
    changed for ``retention_days()``; the batches keep their rows and counts, with ``file``
    emptied. A file that another batch still needs (the same content for another county or
    kind) stays. Returns the number of batches purged. Idempotent."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=retention_days())
    eligible = (
        ImportBatch.objects.filter(status__in=PURGEABLE)
        .exclude(file="")
        .filter(Q(finished_at__lt=cutoff) | Q(finished_at__isnull=True, updated_at__lt=cutoff))
    )
    purged = 0
    for batch_id, relative in list(eligible.values_list("pk", "file")):
        # Conditional: a batch checked again meanwhile (PARSING) keeps its file.
        if not ImportBatch.objects.filter(pk=batch_id, status__in=PURGEABLE, file=relative).update(
            file=""
        ):
            continue
        purged += 1
        if not ImportBatch.objects.filter(file=relative).exists():
            delete(relative)
    if purged:
        logger.info("import files purged: %s batches", purged)
    return purged
