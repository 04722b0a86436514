"""Benchmarks P1–P4 of quality.md: the ``dibao`` import at scale.

Each figure is a ratio against a baseline measured in the same run (the machine is shared and
noisy), the median of several runs where a run is cheap. Prints ``ID name value (target)``
lines; lines starting with ``#`` say what was measured.

- **P1** ``import_ledger dibao`` of a 100,000-person ``.xlsx`` end to end (store, parse, validate
  every rule, stage, write, report) against "openpyxl read-only read + psycopg ``COPY`` of the
  same rows into a bare table": rows/s ratio, target ≥ 0.5. Both for the xlsxwriter
  constant-memory file (inline strings) and for the same rows with a shared-string table, as
  Excel and WPS write them.
- **P2** the same import of a 10,000-row subset against django-import-export's plain
  ``ModelResource`` importing the same rows into a bare model of flat roster rows (the dataset
  read from the same file): speed-up, target ≥ 10×.
- **P3** the whole import of 500,000 and of 50,000 persons, each in a subprocess of its own:
  time ratio (≤ 11) and peak resident memory ratio (``ru_maxrss``, ≤ 1.5).
- **P4** database round trips of an import of 100,000 and of 1,000 rows: statements (through
  ``connection.execute_wrapper``), ``COPY`` operations and server-side cursor fetches, against
  rows/1,000 + 20.

Runs against PostgreSQL: ``DATABASE_URL`` (default ``postgres://postgres@127.0.0.1:5432/
lowbao_bench``; the database is created and migrated when missing). Generated ledgers are kept
in ``bench/out/``. ``--only P1,P4`` runs some; ``--repeat N`` sets the runs per median.
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from io import StringIO
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
COUNTY = "150121000000"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/lowbao_bench"
# A 500,000-person roster is past the default 50 MiB upload limit; the bench raises it.
MAX_BYTES = 512 * 1024 * 1024

sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lowbao.settings.test")
os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)


def _ensure_database() -> None:
    """Create the benchmark database if it does not exist (PostgreSQL only)."""
    import psycopg
    from psycopg import sql

    url = os.environ["DATABASE_URL"]
    if not url.startswith(("postgres://", "postgresql://")):
        raise SystemExit("bench_import 需要 PostgreSQL：请把 DATABASE_URL 设为 postgres://…")
    base, _slash, name = url.rpartition("/")
    name = name.split("?")[0]
    with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _setup(media: Path) -> None:
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.MEDIA_ROOT = str(media)
    settings.LOWBAO_IMPORT_MAX_BYTES = MAX_BYTES
    call_command("migrate", verbosity=0, skip_checks=True)
    _load_areas()


def _load_areas() -> None:
    import generate

    from lowbao.areas.models import Area
    from lowbao.areas.services import AreaRow, area_load_rows, area_load_shipped

    if not Area.objects.filter(code=COUNTY).exists():
        area_load_shipped()
    rows = [AreaRow(*row) for row in generate.county_area_rows(generate.county_villages(COUNTY))]
    area_load_rows(actor=None, rows=rows, source="bench")


def ledger(persons: int, *, shared_strings: bool = False) -> Path:
    """The generated roster of ``persons`` people (kept in bench/out/ for the next run)."""
    import generate

    OUT.mkdir(exist_ok=True)
    path = OUT / f"dibao-{persons}{'-shared' if shared_strings else ''}.xlsx"
    if not path.exists():
        partial = path.with_suffix(".part.xlsx")
        generate.write_ledger(
            partial,
            generate.households(COUNTY, persons=persons, seed=1),
            shared_strings=shared_strings,
        )
        partial.replace(path)
    return path


def _reset() -> None:
    """Empty what an import writes, so that every run imports into the same state (the audit
    trail is append-only and only grows)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE cases_benefitperiod, cases_householdmember, cases_household, "
            "people_person, imports_importrow, imports_importbatch CASCADE"
        )


def import_ledger(path: Path) -> dict[str, Any]:
    """``import_ledger dibao FILE --county … --json`` as the command line runs it."""
    from django.core.management import call_command

    out = StringIO()
    try:
        call_command("import_ledger", "dibao", str(path), "--county", COUNTY, "--json", stdout=out)
    except SystemExit as exc:
        raise RuntimeError(f"import_ledger exited {exc.code}: {out.getvalue()[:2000]}") from exc
    report = json.loads(out.getvalue())
    if report["errors"] or report["created"] != report["households"]:
        raise RuntimeError(f"unexpected import result: {str(report)[:2000]}")
    return report


def _timed(function: Callable[[], object]) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def _median_pair(
    first: Callable[[], float], second: Callable[[], float], repeat: int
) -> tuple[float, float]:
    """Medians of ``first`` and ``second`` run alternately ``repeat`` times each."""
    a, b = [], []
    for _ in range(repeat):
        a.append(first())
        b.append(second())
    return statistics.median(a), statistics.median(b)


# --- baselines ----------------------------------------------------------------------------------


def baseline_openpyxl_copy(path: Path) -> int:
    """openpyxl read-only read of the sheet + psycopg ``COPY`` of its rows into a bare table."""
    import openpyxl
    from django.db import connection

    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        sheet = workbook.worksheets[0]
        rows = sheet.iter_rows(min_row=4, values_only=True)
        width = sheet.max_column or 21
        count = 0
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS bench_bare_rows")
            columns = ", ".join(f"c{index} text" for index in range(width))
            cursor.execute(f"CREATE TABLE bench_bare_rows ({columns})")
            with cursor.cursor.copy("COPY bench_bare_rows FROM STDIN") as copy:
                for row in rows:
                    copy.write_row([None if v is None else str(v) for v in row[:width]])
                    count += 1
    finally:
        workbook.close()
    return count


FLAT_COLUMNS = {
    "household_number": "户编号",
    "township": "苏木乡镇",
    "village": "嘎查村",
    "village_code": "嘎查村代码",
    "name": "姓名",
    "id_number": "身份证号",
    "relation": "与户主关系",
    "ethnicity": "民族",
    "covered": "是否保障对象",
    "labour_capacity": "劳动能力",
    "health": "健康状况",
    "disability_grade": "残疾等级",
    "programme": "救助类型",
    "classification": "保障类别",
    "income": "月人均收入",
    "amount": "月保障金额",
    "start_month": "保障起始年月",
    "bank_name": "开户银行",
    "bank_account": "银行账号",
    "phone": "联系电话",
}


def _flat_row_model() -> Any:
    """A bare model of flat roster rows (one row per person), its table created for the bench."""
    from django.apps import apps
    from django.db import connection, models

    try:
        return apps.get_model("imports", "BenchFlatRosterRow")
    except LookupError:
        pass
    attrs: dict[str, Any] = {
        "__module__": __name__,
        "Meta": type("Meta", (), {"app_label": "imports", "db_table": "bench_flat_roster_row"}),
    }
    for name in FLAT_COLUMNS:
        attrs[name] = models.CharField(max_length=100, blank=True, default="")
    attrs["id_number"] = models.CharField(max_length=18, unique=True)
    model = type("BenchFlatRosterRow", (models.Model,), attrs)
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_flat_roster_row")
    with connection.schema_editor() as editor:
        editor.create_model(model)
    return model


def baseline_import_export(path: Path) -> int:
    """django-import-export: a plain ``ModelResource`` importing the file's rows (dataset read
    from the same file with openpyxl, rows below the header)."""
    import openpyxl
    import tablib
    from django.db import connection
    from import_export import fields, resources

    model = _flat_row_model()
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE bench_flat_roster_row")

    resource_class = type(
        "PlainFlatRowResource",
        (resources.ModelResource,),
        {
            "Meta": type(
                "Meta",
                (),
                {
                    "model": model,
                    "import_id_fields": ("id_number",),
                    "fields": tuple(FLAT_COLUMNS),
                },
            ),
            **{
                attribute: fields.Field(attribute=attribute, column_name=header)
                for attribute, header in FLAT_COLUMNS.items()
            },
        },
    )
    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        rows = workbook.worksheets[0].iter_rows(min_row=3, values_only=True)
        headers = [str(value) for value in next(rows)]
        dataset = tablib.Dataset(headers=headers)
        for row in rows:
            dataset.append(["" if value is None else str(value) for value in row])
    finally:
        workbook.close()
    result = resource_class().import_data(dataset, dry_run=False, raise_errors=True)
    if result.has_errors() or result.has_validation_errors():
        raise RuntimeError("django-import-export reported errors")
    return len(dataset)


# --- P1, P2 ----------------------------------------------------------------------------------


def _import_run(path: Path) -> Callable[[], float]:
    def run() -> float:
        _reset()
        return _timed(lambda: import_ledger(path))

    return run


def bench_p1(repeat: int) -> None:
    for persons, shared, label in (
        (100_000, False, "inline strings (xlsxwriter constant memory)"),
        (100_000, True, "shared strings (as Excel/WPS write)"),
    ):
        path = ledger(persons, shared_strings=shared)
        baseline, ours = _median_pair(
            lambda path=path: _timed(lambda: baseline_openpyxl_copy(path)),
            _import_run(path),
            repeat,
        )
        ratio = baseline / ours
        suffix = "_shared_strings" if shared else ""
        print(f"# P1 {persons:,} persons, {label}, median of {repeat}:")
        print(
            f"#    import_ledger {ours:.1f} s = {persons / ours:,.0f} rows/s; baseline openpyxl "
            f"read-only + COPY {baseline:.1f} s = {persons / baseline:,.0f} rows/s"
        )
        print(f"P1 import_dibao_100k_rows_per_s_vs_openpyxl_copy{suffix} {ratio:.2f} (>= 0.5)")
        sys.stdout.flush()


def bench_p2(repeat: int) -> None:
    path = ledger(10_000)
    theirs, ours = _median_pair(
        lambda: _timed(lambda: baseline_import_export(path)), _import_run(path), repeat
    )
    print(f"# P2 10,000 persons, median of {repeat}:")
    print(
        f"#    import_ledger {ours:.2f} s = {10_000 / ours:,.0f} rows/s; "
        f"django-import-export ModelResource {theirs:.1f} s = {10_000 / theirs:,.0f} rows/s"
    )
    print(f"P2 import_dibao_10k_speedup_vs_import_export {theirs / ours:.1f} (>= 10)")
    sys.stdout.flush()


# --- P3 -------------------------------------------------------------------------------------


def child(persons: int) -> None:
    """One whole import in this (fresh) process; prints seconds and peak RSS as JSON."""
    path = ledger(persons)
    _reset()
    seconds = _timed(lambda: import_ledger(path))
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"persons": persons, "seconds": seconds, "peak_kib": peak_kib}))


def _in_subprocess(persons: int) -> dict[str, Any]:
    ledger(persons)  # generated here, outside the measured process
    result = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", str(persons)],
        check=True,
        capture_output=True,
        text=True,
        env=os.environ.copy(),
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def bench_p3(repeat: int, small: int, large: int) -> None:
    smalls = [_in_subprocess(small) for _ in range(repeat)]
    larges = [_in_subprocess(large) for _ in range(max(1, repeat // 2))]
    small_time = statistics.median(run["seconds"] for run in smalls)
    large_time = statistics.median(run["seconds"] for run in larges)
    small_rss = statistics.median(run["peak_kib"] for run in smalls)
    large_rss = statistics.median(run["peak_kib"] for run in larges)
    print(
        f"# P3 {small:,} persons: {small_time:.1f} s, peak RSS {small_rss / 1024:.0f} MiB "
        f"(median of {len(smalls)}); {large:,} persons: {large_time:.1f} s, peak RSS "
        f"{large_rss / 1024:.0f} MiB (median of {len(larges)}); one subprocess per import"
    )
    sizes = f"{large // 1000}k_vs_{small // 1000}k"
    print(f"P3 import_time_ratio_{sizes} {large_time / small_time:.2f} (<= 11)")
    print(f"P3 import_peak_memory_ratio_{sizes} {large_rss / small_rss:.2f} (<= 1.5)")
    sys.stdout.flush()


# --- P4 -------------------------------------------------------------------------------------


@contextmanager
def round_trips() -> Iterator[dict[str, int]]:
    """Counts statements (``execute_wrapper``), ``COPY`` operations and server-side cursor
    fetches while the block runs."""
    import psycopg
    from django.db import connection

    counts = {"statements": 0, "copies": 0, "fetches": 0}

    def count_statement(execute: Callable[..., Any], sql: str, *args: Any) -> Any:
        counts["statements"] += 1
        return execute(sql, *args)

    real_copy = psycopg.Cursor.copy
    real_fetchmany = psycopg.ServerCursor.fetchmany

    def copy(self: Any, *args: Any, **kwargs: Any) -> Any:
        counts["copies"] += 1
        return real_copy(self, *args, **kwargs)

    def fetchmany(self: Any, *args: Any, **kwargs: Any) -> Any:
        counts["fetches"] += 1
        return real_fetchmany(self, *args, **kwargs)

    psycopg.Cursor.copy = copy  # type: ignore[method-assign]
    psycopg.ServerCursor.fetchmany = fetchmany  # type: ignore[method-assign]
    try:
        with connection.execute_wrapper(count_statement):
            yield counts
    finally:
        psycopg.Cursor.copy = real_copy  # type: ignore[method-assign]
        psycopg.ServerCursor.fetchmany = real_fetchmany  # type: ignore[method-assign]


def bench_p4() -> None:
    for persons in (100_000, 1_000):
        path = ledger(persons)
        _reset()
        with round_trips() as counts:
            import_ledger(path)
        total = sum(counts.values())
        target = persons / 1000 + 20
        print(
            f"# P4 {persons:,} rows: {counts['statements']} statements, {counts['copies']} COPY, "
            f"{counts['fetches']} server-side cursor fetches (transaction BEGIN/COMMIT not counted)"
        )
        print(f"P4 import_round_trips_{persons // 1000}k_rows {total} (<= {target:g})")
        sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default="P1,P2,P3,P4")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--p3-sizes", default="50000,500000")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    _ensure_database()
    with tempfile.TemporaryDirectory(prefix="lowbao-bench-") as media:
        _setup(Path(media))
        if args.child:
            child(args.child)
            return 0
        wanted = {item.strip().upper() for item in args.only.split(",")}
        if "P1" in wanted:
            bench_p1(args.repeat)
        if "P2" in wanted:
            bench_p2(args.repeat)
        if "P3" in wanted:
            small, large = (int(size) for size in args.p3_sizes.split(","))
            bench_p3(args.repeat, small, large)
        if "P4" in wanted:
            bench_p4()
    return 0


if __name__ == "__main__":
    sys.exit(main())
