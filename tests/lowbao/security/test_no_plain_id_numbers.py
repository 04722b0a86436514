"""No ID number at rest outside the encrypted columns (quality.md S4).

One full cycle — a dibao roster and a poverty registry file uploaded and applied through the
big-file (Celery) path, a masked roster export run by its Celery task, a reconciliation run —
then every place data rests is searched for the imported ID numbers (18-character form, and the
old 15-character form) and for any other valid 18-character ID number: log records, Celery task
arguments, files under ``MEDIA_ROOT`` and the temp dir (``.xlsx`` unzipped), staging rows and
batches, audit changes, the cache, every text and JSON column of every table (except
``*_ciphertext``, ``*_hash``, ``password`` and the OTP secrets), and the Redis broker database
when one is configured.
"""

import hashlib
import json
import logging
import pickle
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings as django_settings
from django.core.cache import caches
from django.core.files.uploadedfile import SimpleUploadedFile

from lowbao.audit.models import AuditEvent
from lowbao.exports.models import ExportStatus
from lowbao.exports.services import export_job_request
from lowbao.exports.tasks import export_job_run_task
from lowbao.imports import jobs, storage
from lowbao.imports.jobs import import_batch_confirm, import_batch_upload
from lowbao.imports.kinds import ImportOptions
from lowbao.imports.models import ImportBatch, ImportRow, ImportStatus
from lowbao.imports.pipeline import STORAGE_DIR as IMPORT_STORAGE_DIR
from lowbao.imports.tasks import import_batch_apply_task, import_batch_parse_task
from review.models import ReconciliationFinding, RunStatus, RunTrigger
from review.services import reconciliation as reconciliation_service
from review.services.reconciliation import reconciliation_request, reconciliation_run_execute
from tests.lowbao.imports.test_import_ledger_command import (
    POVERTY_HEADERS,
    ROSTER_HEADERS,
    poverty_row,
    roster_row,
    write_csv,
)
from tests.lowbao.imports.test_upload_pages import make_admins
from tests.lowbao.people.factories import make_id_number
from tests.lowbao.security.test_api_fuzz import unmasked_id_numbers

pytestmark = pytest.mark.django_db

AS_OF = date(2026, 7, 1)
TEXT_FIELD_TYPES = frozenset(
    {
        "CharField",
        "TextField",
        "JSONField",
        "SlugField",
        "EmailField",
        "URLField",
        "FilePathField",
        "FileField",
        "ImageField",
        "GenericIPAddressField",
    }
)
OTP_SECRET_APPS = frozenset({"otp_totp", "otp_static", "otp_hotp", "otp_email"})
STANDARD_RECORD_KEYS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
}


def old_form(id_number: str) -> str:
    """The 15-character form of an 18-character ID number (no century, no check digit)."""
    return id_number[:6] + id_number[8:17]


@dataclass
class Cycle:
    id_numbers: list[str]
    temp_dir: Path
    celery_args: list[tuple[str, Any]] = field(default_factory=list)
    records: list[logging.LogRecord] = field(default_factory=list)

    def found_in(self, text: str) -> list[str]:
        """The imported numbers (either form) and any other valid ID number in ``text``."""
        upper = text.upper()
        needles = [form for number in self.id_numbers for form in (number, old_form(number))]
        hits = {needle for needle in needles if needle in upper}
        return sorted(hits | set(unmasked_id_numbers(text)))


# --- where data rests ------------------------------------------------------------------------


def file_texts(root: Path, *, skip: Path | None = None) -> Iterator[tuple[str, str]]:
    """Every file under ``root`` as text; a zip (``.xlsx``) member by member."""
    if not root.exists():
        return
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if skip is not None and skip in path.parents:
            continue
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                for name in archive.namelist():
                    yield f"{path}!{name}", archive.read(name).decode("utf-8", "replace")
            continue
        data = path.read_bytes()
        for encoding in ("utf-8", "utf-16", "gb18030"):
            yield f"{path} ({encoding})", data.decode(encoding, "replace")


def text_columns(model: Any) -> list[str]:
    return [
        column.attname
        for column in model._meta.concrete_fields
        if not column.name.endswith(("_ciphertext", "_hash"))
        and column.name != "password"
        and column.get_internal_type() in TEXT_FIELD_TYPES
    ]


def database_texts() -> Iterator[tuple[str, str]]:
    """Every text/JSON column value of every table, raw, as text."""
    for model in apps.get_models():
        meta = model._meta
        if meta.proxy or not meta.managed or meta.app_label in OTP_SECRET_APPS:
            continue
        columns = text_columns(model)
        if not columns:
            continue
        for pk, *values in model._base_manager.values_list("pk", *columns):
            for column, value in zip(columns, values, strict=True):
                if value in (None, "", [], {}):
                    continue
                text = (
                    value
                    if isinstance(value, str)
                    else json.dumps(value, ensure_ascii=False, default=str)
                )
                yield f"{meta.db_table}.{column} pk={pk}", text


def _unpickled(raw: bytes) -> str:
    try:
        return repr(pickle.loads(raw))  # noqa: S301 - the test's own locmem cache
    except Exception as exc:  # the raw bytes are scanned as well
        return f"not unpickled: {exc!r}"


def cache_texts() -> Iterator[tuple[str, str]]:
    for alias in django_settings.CACHES:
        store = getattr(caches[alias], "_cache", None)
        assert store is not None, f"cache {alias} is not locmem: scan it another way"
        for key, raw in list(store.items()):
            yield f"cache {alias} key", str(key)
            yield f"cache {alias} {key} (bytes)", raw.decode("latin-1")
            yield f"cache {alias} {key} (value)", _unpickled(raw)


def log_texts(records: Iterable[logging.LogRecord]) -> Iterator[tuple[str, str]]:
    formatter = logging.Formatter()
    for item in records:
        where = f"log {item.name}:{item.lineno}"
        yield where, item.getMessage()
        yield f"{where} args", repr(item.args)
        if item.exc_info:
            yield f"{where} exception", formatter.formatException(item.exc_info)
        extra = {k: v for k, v in vars(item).items() if k not in STANDARD_RECORD_KEYS}
        yield f"{where} extra", repr(extra)


def redis_texts() -> Iterator[tuple[str, str]]:
    """Keys and values of the broker's Redis database (CI), nothing otherwise."""
    url = django_settings.CELERY_BROKER_URL or ""
    if not url.startswith("redis://"):
        return
    import redis

    client = redis.Redis.from_url(url)
    for key in client.scan_iter(count=1000):
        yield f"redis key {key!r}", key.decode("utf-8", "replace")
        kind = client.type(key).decode()
        values: list[bytes] = []
        if kind == "string":
            values = [client.get(key) or b""]
        elif kind == "list":
            values = client.lrange(key, 0, -1)
        elif kind == "hash":
            values = [k + b"=" + v for k, v in client.hgetall(key).items()]
        elif kind == "set":
            values = list(client.smembers(key))
        elif kind == "zset":
            values = client.zrange(key, 0, -1)
        for value in values:
            yield f"redis {key!r}", value.decode("utf-8", "replace")


def leaks(cycle: Cycle, places: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    return {where: hits for where, text in places if (hits := cycle.found_in(text))}


# --- the cycle -------------------------------------------------------------------------------


def _import(
    capture: Any, actor: Any, kind: str, path: Path, county: Any, **options: Any
) -> ImportBatch:
    """Upload, check (parse task), confirm and apply (apply task), as the upload pages do."""
    upload = SimpleUploadedFile(path.name, path.read_bytes(), content_type="text/csv")
    with capture(execute=True):
        batch = import_batch_upload(
            actor=actor, kind=kind, upload=upload, county=county, options=ImportOptions(**options)
        )
    import_batch_parse_task(batch.pk)
    batch.refresh_from_db()
    assert batch.status == ImportStatus.PARSED, batch.errors
    with capture(execute=True):
        import_batch_confirm(actor=actor, batch=batch)
    import_batch_apply_task(batch.pk, actor.pk)
    batch.refresh_from_db()
    assert batch.status == ImportStatus.APPLIED, batch.job_message
    return batch


@pytest.fixture
def cycle(
    areas,
    make_user,
    case_users,
    county_standard,
    poverty_line_2026,
    settings,
    tmp_path,
    monkeypatch,
    caplog,
    django_capture_on_commit_callbacks,
) -> Cycle:
    caplog.set_level(logging.DEBUG)
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.LOWBAO_IMPORT_SYNC_MAX_BYTES = 0  # every upload is checked and applied in Celery
    settings.LOWBAO_EXPORT_SYNC_MAX_ROWS = 0  # and the export is written by its task
    temp_dir = tmp_path / "tmp"
    temp_dir.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp_dir))
    numbers = [make_id_number() for _ in range(5)]
    shared = numbers[0]  # in payment and in the registry: the reconciliation finds them
    cycle = Cycle(id_numbers=numbers, temp_dir=temp_dir)

    def recorder(name: str) -> Any:
        return lambda *args, **kwargs: cycle.celery_args.append((name, (args, kwargs)))

    monkeypatch.setattr(jobs.import_batch_parse_task, "delay", recorder("import parse"))
    monkeypatch.setattr(jobs.import_batch_apply_task, "delay", recorder("import apply"))
    monkeypatch.setattr(export_job_run_task, "apply_async", recorder("export run"))
    monkeypatch.setattr(
        reconciliation_service.reconciliation_run_task, "delay", recorder("reconciliation")
    )

    admin = make_admins(areas, make_user).county
    files = tmp_path / "files"
    files.mkdir()
    roster = write_csv(
        files / "roster.csv",
        ROSTER_HEADERS,
        [
            roster_row("DB001", shared),
            roster_row("DB001", numbers[1], "配偶", 银行账号="", 联系电话=""),
            roster_row("DB002", numbers[2], 月保障金额="460", 救助类型="特困供养"),
        ],
    )
    registry = write_csv(
        files / "registry.csv",
        POVERTY_HEADERS,
        [
            poverty_row("1501210001", shared),
            poverty_row("1501210001", numbers[3], "配偶"),
            poverty_row("1501210002", numbers[4]),
        ],
        title="建档立卡贫困人口",
    )
    capture = django_capture_on_commit_callbacks
    _import(capture, admin, "dibao", roster, areas.county)
    _import(capture, admin, "poverty", registry, areas.county, snapshot_date=date(2026, 6, 30))

    with capture(execute=True):
        job = export_job_request(
            actor=case_users.civil_affairs, kind="dibao", county=areas.county, filters={}
        )
    export_job_run_task(job.pk)
    job.refresh_from_db()
    assert (job.status, job.row_count, job.reveal) == (ExportStatus.DONE, 3, False)

    with capture(execute=True):
        run = reconciliation_request(
            actor=case_users.civil_affairs,
            county=areas.county,
            as_of=AS_OF,
            trigger=RunTrigger.MANUAL,
        )
    run = reconciliation_run_execute(run_id=run.pk)
    assert run.status == RunStatus.FINISHED
    assert ReconciliationFinding.objects.filter(run=run).exists()

    cycle.records = list(caplog.records)
    return cycle


def test_the_cycle_sends_every_job_through_celery(cycle):
    assert [name for name, _ in cycle.celery_args] == [
        "import parse",
        "import apply",
        "import parse",
        "import apply",
        "export run",
        "reconciliation",
    ]


def test_no_plain_id_numbers_outside_the_encrypted_columns(cycle, settings):
    media = Path(settings.MEDIA_ROOT)
    places: list[tuple[str, str]] = []
    places += log_texts(cycle.records)
    places += [(f"celery {name}", repr(args)) for name, args in cycle.celery_args]
    places += file_texts(media)  # the stored uploads too: they are encrypted
    places += file_texts(cycle.temp_dir)
    for row in ImportRow.objects.values("pk", "raw", "errors", "warnings"):
        places.append((f"import row {row['pk']}", json.dumps(row, ensure_ascii=False)))
    for batch in ImportBatch.objects.values("pk", "errors", "warnings"):
        places.append((f"import batch {batch['pk']}", json.dumps(batch, ensure_ascii=False)))
    for event in AuditEvent.objects.values("pk", "changes"):
        places.append((f"audit {event['pk']}", json.dumps(event, ensure_ascii=False)))
    places += cache_texts()
    places += database_texts()
    places += redis_texts()

    assert len(places) > 100  # the cycle left plenty behind: the scan saw it
    masked = cycle.id_numbers[0][:6] + "********" + cycle.id_numbers[0][-4:]
    exported = [text for where, text in places if "/exports/" in where and "sheet" in where]
    assert any(masked in text for text in exported)  # the export's sheet was unzipped and read
    assert leaks(cycle, places) == {}


def test_the_scan_finds_a_planted_id_number(cycle, settings):
    """The scan cannot pass by looking nowhere: a number planted in each kind of place is
    found there."""
    planted = cycle.id_numbers[2]
    caches["default"].set("planted", {"id": old_form(planted)})
    path = Path(settings.MEDIA_ROOT) / "planted.txt"
    path.write_text(f"身份证号 {planted}\n", encoding="utf-8")
    ImportBatch.objects.filter(pk=ImportBatch.objects.first().pk).update(errors=[planted])

    record = logging.LogRecord("lowbao.test", logging.WARNING, "", 1, "person %s", (planted,), None)
    found = leaks(
        cycle,
        [
            *log_texts([record]),
            *cache_texts(),
            *file_texts(
                Path(settings.MEDIA_ROOT), skip=Path(settings.MEDIA_ROOT) / IMPORT_STORAGE_DIR
            ),
            *database_texts(),
        ],
    )

    assert found == {
        "log lowbao.test:1": [planted],
        "log lowbao.test:1 args": [planted],
        "cache default :1:planted (bytes)": [old_form(planted)],
        "cache default :1:planted (value)": [old_form(planted)],
        f"{path} (utf-8)": [planted],
        f"{path} (gb18030)": [planted],
        f"{ImportBatch._meta.db_table}.errors pk={ImportBatch.objects.first().pk}": [planted],
    }


def test_stored_upload_files_hold_no_plain_id_numbers(cycle, settings):
    """The uploads are kept (re-validated at apply) but encrypted: the scan finds nothing, each
    file carries the encryption header with the current key, and decrypts to the upload."""
    stored = Path(settings.MEDIA_ROOT) / IMPORT_STORAGE_DIR
    files = sorted(p for p in stored.rglob("*") if p.is_file())

    assert [p.suffix for p in files] == [".csv", ".csv"]
    assert leaks(cycle, file_texts(stored)) == {}
    assert all(p.read_bytes().startswith(storage.MAGIC) for p in files)
    by_name = {Path(batch.file).name: batch for batch in ImportBatch.objects.all()}
    for path in files:
        relative = str(path.relative_to(settings.MEDIA_ROOT))
        assert storage.key_id_of(relative) == "test1"
        with storage.open_decrypted(relative) as plain:
            content = plain.read()
        assert hashlib.sha256(content).hexdigest() == by_name[path.name].sha256
        assert cycle.found_in(content.decode("utf-8-sig"))  # the plain upload, ID numbers and all
