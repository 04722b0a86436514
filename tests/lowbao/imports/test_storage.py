"""Stored upload files: encrypted at rest, read back in memory, rotated, purged (quality.md S4)."""

import hashlib
import importlib
import io
import random
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.apps import apps as django_apps
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from cases.models import Household
from lowbao.audit.models import AuditEvent
from lowbao.imports import storage
from lowbao.imports.jobs import estimate_rows, import_batch_check
from lowbao.imports.kinds import ImportOptions
from lowbao.imports.models import ImportBatch, ImportStatus
from lowbao.imports.pipeline import import_batch_apply, import_batch_create, import_batch_parse
from lowbao.imports.readers import SpilledStrings
from lowbao.imports.storage import StoredFileError
from lowbao.imports.tasks import import_files_purge_task
from tests.lowbao.imports.database_digest import database_digest
from tests.lowbao.imports.test_import_ledger_command import (
    ROSTER_HEADERS,
    roster,
    roster_row,
    two_households,
)
from tests.lowbao.imports.test_upload_pages import make_admins, make_batch, xlsx_bytes
from tests.lowbao.people.factories import make_id_number

pytestmark = pytest.mark.django_db

SMALL_CHUNK = 1000
RELATIVE = "imports/ab/abcdef.csv"
ENCRYPT_FILES = importlib.import_module(
    "lowbao.imports.migrations.0005_encrypt_stored_upload_files"
).encrypt_plain_files


@pytest.fixture(autouse=True)
def media(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(storage, "CHUNK_BYTES", SMALL_CHUNK)


@pytest.fixture
def admins(areas, make_user):
    return make_admins(areas, make_user)


def plain_file(tmp_path: Path, size: int, name: str = "plain.csv") -> tuple[Path, bytes]:
    data = random.Random(size).randbytes(size)
    path = tmp_path / name
    path.write_bytes(data)
    return path, data


def stored_path(relative: str) -> Path:
    return storage.full_path(relative)


def read_all(relative: str) -> bytes:
    with storage.open_decrypted(relative) as stream:
        return stream.read()


# --- the format --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("_case", "size"),
    [
        ("empty", 0),
        ("one_partial_chunk", 10),
        ("exactly_three_chunks", 3 * SMALL_CHUNK),
        ("three_chunks_and_a_bit", 3 * SMALL_CHUNK + 7),
    ],
)
def test_a_stored_file_decrypts_to_its_plain_bytes(tmp_path, small_chunks, _case, size):
    source, data = plain_file(tmp_path, size)

    storage.store_encrypted(source, RELATIVE)

    on_disk = stored_path(RELATIVE).read_bytes()
    assert on_disk.startswith(storage.MAGIC)
    assert storage.key_id_of(RELATIVE) == "test1"
    chunks = max(1, -(-size // SMALL_CHUNK))
    header = len(storage.MAGIC) + 2 + len("test1") + 12
    assert len(on_disk) == header + size + chunks * (storage.NONCE_BYTES + storage.TAG_BYTES)
    assert read_all(RELATIVE) == data
    assert list(stored_path(RELATIVE).parent.iterdir()) == [stored_path(RELATIVE)]  # no .part


def test_the_stored_bytes_do_not_contain_the_plain_text(tmp_path):
    source = tmp_path / "ids.csv"
    source.write_text("身份证号\n150121199001011234\n" * 50, encoding="utf-8")

    storage.store_encrypted(source, RELATIVE)

    assert b"150121199001011234" not in stored_path(RELATIVE).read_bytes()
    assert b"150121199001011234" in read_all(RELATIVE)


def test_the_decrypted_stream_seeks_and_reads_across_chunks(tmp_path, small_chunks):
    source, data = plain_file(tmp_path, 5 * SMALL_CHUNK + 321)
    storage.store_encrypted(source, RELATIVE)
    picks = random.Random(7)

    with storage.open_decrypted(RELATIVE) as stream:
        assert stream.seekable()
        assert stream.seek(0, io.SEEK_END) == len(data)
        for _ in range(200):
            start = picks.randrange(len(data) + 10)
            length = picks.randrange(3 * SMALL_CHUNK)
            stream.seek(start)
            assert stream.read(length) == data[start : start + length]
        stream.seek(-5, io.SEEK_END)
        assert (stream.read(), stream.tell()) == (data[-5:], len(data))


def test_two_stores_of_the_same_content_use_fresh_nonces(tmp_path):
    source, _data = plain_file(tmp_path, 3000)
    storage.store_encrypted(source, RELATIVE)
    first = stored_path(RELATIVE).read_bytes()
    stored_path(RELATIVE).unlink()

    storage.store_encrypted(source, RELATIVE)

    assert stored_path(RELATIVE).read_bytes() != first


def test_an_encrypted_file_already_stored_is_kept(tmp_path):
    source, _data = plain_file(tmp_path, 3000)
    storage.store_encrypted(source, RELATIVE)
    first = stored_path(RELATIVE).read_bytes()

    storage.store_encrypted(source, RELATIVE)

    assert stored_path(RELATIVE).read_bytes() == first


# --- wrong key, tampering ----------------------------------------------------------------------


def test_a_file_whose_key_is_not_configured_gives_a_clear_error(tmp_path, settings):
    source, _data = plain_file(tmp_path, 3000)
    storage.store_encrypted(source, RELATIVE)
    settings.FIELD_ENCRYPTION_KEYS = {"test2": settings.FIELD_ENCRYPTION_KEYS["test2"]}
    settings.FIELD_ENCRYPTION_CURRENT_KEY_ID = "test2"

    with pytest.raises(StoredFileError) as refused:
        storage.open_decrypted(RELATIVE)

    assert refused.value.code == "stored_file_key_unknown"
    assert refused.value.message == (
        "服务器上保存的原文件使用的加密密钥“test1”未配置，无法读取；请联系系统管理员"
    )


def test_a_file_read_with_another_key_under_its_id_is_refused(tmp_path, settings):
    source, _data = plain_file(tmp_path, 3000)
    storage.store_encrypted(source, RELATIVE)
    settings.FIELD_ENCRYPTION_KEYS = {**settings.FIELD_ENCRYPTION_KEYS}
    settings.FIELD_ENCRYPTION_KEYS["test1"] = settings.FIELD_ENCRYPTION_KEYS["test2"]

    with pytest.raises(StoredFileError) as refused, storage.open_decrypted(RELATIVE) as stream:
        stream.read()

    assert refused.value.code == "stored_file_damaged"
    assert refused.value.message == "服务器上保存的原文件已损坏或被篡改，无法解密；请重新上传该文件"


def flip_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("_case", "damage"),
    [
        ("a_ciphertext_byte_flipped", lambda p: flip_byte(p, len(p.read_bytes()) // 2)),
        ("the_last_tag_byte_flipped", lambda p: flip_byte(p, len(p.read_bytes()) - 1)),
        (
            "the_key_id_relabelled",
            lambda p: p.write_bytes(p.read_bytes().replace(b"test1", b"test2", 1)),
        ),
        ("the_plain_size_in_the_header_changed", lambda p: flip_byte(p, 8 + 2 + 5 + 4 + 7)),
        ("truncated", lambda p: p.write_bytes(p.read_bytes()[:-100])),
        ("extended", lambda p: p.write_bytes(p.read_bytes() + b"x" * 28)),
        ("two_chunks_swapped", "swap"),
    ],
)
def test_a_tampered_file_is_refused_as_damaged(tmp_path, small_chunks, _case, damage):
    source, _data = plain_file(tmp_path, 4 * SMALL_CHUNK)
    storage.store_encrypted(source, RELATIVE)
    path = stored_path(RELATIVE)
    if damage == "swap":
        data = path.read_bytes()
        header, sealed = 8 + 2 + 5 + 12, SMALL_CHUNK + 28
        first, second = data[header : header + sealed], data[header + sealed : header + 2 * sealed]
        path.write_bytes(data[:header] + second + first + data[header + 2 * sealed :])
    else:
        damage(path)

    with pytest.raises(StoredFileError) as refused:
        read_all(RELATIVE)

    assert refused.value.code == "stored_file_damaged"


def test_a_tampered_stored_upload_rejects_the_batch_and_writes_nothing(areas, admins, tmp_path):
    batch = import_batch_create(
        actor=admins.county,
        kind="dibao",
        path=roster(tmp_path, two_households()),
        county=areas.county,
        options=ImportOptions(),
    )
    flip_byte(stored_path(batch.file), 60)
    before = database_digest()

    batch = import_batch_parse(batch=batch)

    assert (batch.status, batch.error_code, batch.errors[0]["message"]) == (
        ImportStatus.REJECTED,
        "stored_file_damaged",
        "服务器上保存的原文件已损坏或被篡改，无法解密；请重新上传该文件",
    )
    assert database_digest() == before


# --- the pipeline reads the encrypted file ------------------------------------------------------


def test_the_batch_key_is_the_digest_of_the_plain_upload(areas, admins, tmp_path):
    path = roster(tmp_path, two_households())
    plain = path.read_bytes()

    batch = import_batch_create(
        actor=admins.county, kind="dibao", path=path, county=areas.county, options=ImportOptions()
    )

    digest = hashlib.sha256(plain).hexdigest()
    assert (batch.sha256, batch.size) == (digest, len(plain))
    assert batch.file == f"imports/{digest[:2]}/{digest}.csv"
    assert stored_path(batch.file).read_bytes() != plain
    assert read_all(batch.file) == plain


@pytest.mark.parametrize("_case", ["xlsx", "csv"])
def test_an_encrypted_upload_is_parsed_estimated_and_applied(
    areas, admins, tmp_path, small_chunks, _case
):
    rows = [roster_row(f"H{index:03d}", make_id_number()) for index in range(60)]
    if _case == "xlsx":
        path = tmp_path / "roster.xlsx"
        path.write_bytes(xlsx_bytes(ROSTER_HEADERS, rows))
    else:
        path = roster(tmp_path, rows)
    batch = import_batch_create(
        actor=admins.county, kind="dibao", path=path, county=areas.county, options=ImportOptions()
    )
    assert stored_path(batch.file).stat().st_size > 3 * SMALL_CHUNK

    assert estimate_rows(batch) is not None
    batch = import_batch_parse(batch=batch)
    assert (batch.status, batch.counts["rows"], batch.error_count) == (
        ImportStatus.PARSED,
        len(rows),
        0,
    )
    batch._parsed = None  # apply reads the stored file again, as a worker does
    import_batch_apply(actor=admins.county, batch=batch)

    assert Household.objects.count() == 60


def test_a_file_stored_plain_before_encryption_is_still_read(areas, admins, tmp_path):
    path = roster(tmp_path, two_households())
    batch = import_batch_create(
        actor=admins.county, kind="dibao", path=path, county=areas.county, options=ImportOptions()
    )
    stored_path(batch.file).write_bytes(path.read_bytes())  # as stored by the old code

    batch = import_batch_parse(batch=batch)

    assert (batch.status, batch.counts["households"]) == (ImportStatus.PARSED, 2)


def test_the_migration_encrypts_plain_stored_files_and_is_idempotent(areas, admins, tmp_path):
    path = roster(tmp_path, two_households())
    batch = import_batch_create(
        actor=admins.county, kind="dibao", path=path, county=areas.county, options=ImportOptions()
    )
    stored_path(batch.file).write_bytes(path.read_bytes())
    gone = ImportBatch.objects.create(
        kind="disability", original_name="x.csv", file="imports/00/gone.csv", sha256="0" * 64
    )

    ENCRYPT_FILES(django_apps, None)
    encrypted = stored_path(batch.file).read_bytes()
    ENCRYPT_FILES(django_apps, None)

    assert encrypted.startswith(storage.MAGIC)
    assert stored_path(batch.file).read_bytes() == encrypted  # the second run rewrote nothing
    assert read_all(batch.file) == path.read_bytes()
    assert not stored_path(gone.file).exists()


# --- rotation ----------------------------------------------------------------------------------


def test_rotation_moves_every_stored_file_to_the_current_key(areas, admins, tmp_path, settings):
    old = import_batch_create(
        actor=admins.county,
        kind="dibao",
        path=roster(tmp_path, two_households(), name="a.csv"),
        county=areas.county,
        options=ImportOptions(),
    )
    legacy_path = roster(tmp_path, two_households(), name="b.csv")
    legacy = import_batch_create(
        actor=admins.county,
        kind="dibao",
        path=legacy_path,
        county=areas.county,
        options=ImportOptions(),
    )
    stored_path(legacy.file).write_bytes(legacy_path.read_bytes())
    settings.FIELD_ENCRYPTION_CURRENT_KEY_ID = "test2"
    plain = {batch.file: read_all(batch.file) for batch in (old, legacy)}

    dry = StringIO()
    call_command("rotate_import_file_keys", "--dry-run", stdout=dry)
    out = StringIO()
    call_command("rotate_import_file_keys", stdout=out)
    again = storage.import_files_rotate()

    assert dry.getvalue().splitlines() == [
        "当前密钥：test2（试运行，未写入）",
        "导入原文件：轮换前 (明文)=1、test1=1",
    ]
    assert out.getvalue().splitlines() == [
        "当前密钥：test2",
        "导入原文件：轮换前 (明文)=1、test1=1",
        "已改用 test2 加密 2 个文件",
    ]
    assert (again.before, again.rotated) == ({"test2": 2}, 0)
    assert {batch.file: storage.key_id_of(batch.file) for batch in (old, legacy)} == {
        old.file: "test2",
        legacy.file: "test2",
    }
    assert {name: read_all(name) for name in plain} == plain
    event = AuditEvent.objects.get(action="protection.import_files_rotate")
    assert event.changes == {"key_id": "test2", "before": {"(明文)": 1, "test1": 1}, "rotated": 2}


def test_rotation_reports_files_it_cannot_decrypt_and_exits_1(areas, admins, tmp_path):
    batch = import_batch_create(
        actor=admins.county,
        kind="dibao",
        path=roster(tmp_path, two_households()),
        county=areas.county,
        options=ImportOptions(),
    )
    flip_byte(stored_path(batch.file), 60)

    with pytest.raises(CommandError) as failed:
        call_command("rotate_import_file_keys", "--dry-run", stdout=StringIO())

    assert str(failed.value) == (
        "1 个文件无法解密（stored_file_damaged=1），请检查 LOWBAO_FIELD_KEYS"
    )


# --- retention ---------------------------------------------------------------------------------


def aged(batch: ImportBatch, status: str, days: float) -> ImportBatch:
    finished = timezone.now() - timedelta(days=days)
    ImportBatch.objects.filter(pk=batch.pk).update(status=status, finished_at=finished)
    batch.refresh_from_db()
    return batch


def stored_batch(areas, admins, tmp_path, name: str, county=None) -> ImportBatch:
    return import_batch_create(
        actor=admins.county,
        kind="dibao",
        path=roster(tmp_path, two_households(), name=name),
        county=county or areas.county,
        options=ImportOptions(),
    )


def test_purge_deletes_only_old_files_of_finished_batches(areas, admins, tmp_path, settings):
    settings.LOWBAO_IMPORT_FILE_RETENTION_DAYS = 30
    batches = {
        "applied_old": aged(stored_batch(areas, admins, tmp_path, "1.csv"), "applied", 31),
        "rejected_old": aged(stored_batch(areas, admins, tmp_path, "2.csv"), "rejected", 40),
        "failed_old": aged(stored_batch(areas, admins, tmp_path, "3.csv"), "failed", 30.1),
        "applied_recent": aged(stored_batch(areas, admins, tmp_path, "4.csv"), "applied", 29),
        "parsed_old": aged(stored_batch(areas, admins, tmp_path, "5.csv"), "parsed", 90),
        "uploaded_old": aged(stored_batch(areas, admins, tmp_path, "6.csv"), "uploaded", 90),
        "parsing_old": aged(stored_batch(areas, admins, tmp_path, "7.csv"), "parsing", 90),
    }
    files = {name: batch.file for name, batch in batches.items()}

    purged = import_files_purge_task()

    assert purged is None  # the task returns nothing; the service counted
    kept = {name: stored_path(relative).exists() for name, relative in files.items()}
    assert kept == {
        "applied_old": False,
        "rejected_old": False,
        "failed_old": False,
        "applied_recent": True,
        "parsed_old": True,
        "uploaded_old": True,
        "parsing_old": True,
    }
    emptied = dict(ImportBatch.objects.values_list("original_name", "file"))
    assert {name: emptied[f"{index}.csv"] == "" for index, name in enumerate(files, 1)} == {
        name: not exists for name, exists in kept.items()
    }
    assert storage.import_files_purge() == 0  # idempotent


def test_purge_keeps_a_file_another_batch_still_needs(areas, admins, tmp_path):
    path = roster(tmp_path, two_households())
    done = import_batch_create(
        actor=admins.county, kind="dibao", path=path, county=areas.county, options=ImportOptions()
    )
    aged(done, "applied", 60)
    other = import_batch_create(
        actor=admins.county,
        kind="poverty",
        path=path,
        county=areas.county,
        options=ImportOptions(),
    )
    assert other.file == done.file

    assert storage.import_files_purge() == 1

    done.refresh_from_db()
    assert (done.file, stored_path(other.file).exists()) == ("", True)


def test_a_purged_batch_checked_again_asks_for_the_file(areas, admins, tmp_path):
    batch = make_batch(tmp_path, actor=admins.county, county=areas.county, name="r.csv")
    aged(batch, "rejected", 60)
    storage.import_files_purge()
    batch.refresh_from_db()

    batch = import_batch_check(actor=admins.county, batch=batch)

    assert (batch.status, batch.error_code, batch.errors[0]["message"]) == (
        ImportStatus.REJECTED,
        "stored_file_missing",
        "服务器上保存的原文件已不存在（超过保存期限已删除），请重新上传该文件",
    )
    again = import_batch_create(
        actor=admins.county,
        kind="dibao",
        path=tmp_path / "r.csv",
        county=areas.county,
        options=ImportOptions(),
    )
    assert (again.pk, again.file != "") == (batch.pk, True)
    assert import_batch_parse(batch=again).status == ImportStatus.PARSED


# --- no plain copy while reading ---------------------------------------------------------------


def test_the_spilled_shared_strings_of_an_xlsx_are_encrypted_on_disk():
    texts = [f"150121{index:012d}" for index in range(300)] + ["", "嘎查村·苏木" * 7, "x"]
    strings = SpilledStrings()
    for text in texts:
        strings.append(text)
    strings.finish()

    strings._file.seek(0)
    on_disk = strings._file.read()
    order = list(range(len(texts)))
    random.Random(3).shuffle(order)

    assert len(on_disk) == sum(len(text.encode()) for text in texts)
    assert b"150121" not in on_disk
    assert "嘎查村".encode() not in on_disk
    assert [strings[index] for index in order] == [texts[index] for index in order]
    assert (strings[-1], strings[1:3], len(strings)) == ("x", texts[1:3], len(texts))
    strings.close()
