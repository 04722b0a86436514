"""P7 (quality.md): ``.xlsx`` export of 100,000 rows.

- **Speed.** The dibao roster export of a county with 100,000 persons, end to end as a user gets
  it (``export_job_request``: count, job row, the Celery task run eagerly, chunked reads, ID
  numbers, accounts and phones decrypted and masked, the ``.xlsx`` written, digest, audit rows),
  against the baseline "xlsxwriter in constant-memory mode writing the same cell values" (the
  values already in memory). Median of several alternating runs; target ratio ≥ 0.7.
- **Memory.** Peak RSS of a fresh process exporting a 20,000-person county and a fresh process
  exporting the 100,000-person county; target ratio ≤ 1.5 (memory flat in rows).

The data lives in a scratch database made for the run: a SQLite file in a temporary directory by
default, or ``BENCH_DATABASE_URL`` (a PostgreSQL database that is dropped and created again, so
never point it at real data). Run standalone::

    .venv/bin/python bench/bench_export.py [--persons 100000] [--small 20000] [--runs 3]

Prints ``ID name value (target)`` lines.
"""

import argparse
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FIRST_BIRTH = date(1940, 1, 1)
BIG_COUNTY = "150121000000"  # 土默特左旗
SMALL_COUNTY = "150122000000"  # 托克托县
TOWNSHIPS_PER_COUNTY = 10
VILLAGES_PER_TOWNSHIP = 12
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = "国华建军明丽芳敏静秀英桂兰玉珍志强文斌海燕红梅伟刚勇毅俊峰巴特尔其格乌兰图雅苏和额尔敦"


def _configure(database_url: str) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "lowbao.settings.test"
    os.environ["DATABASE_URL"] = database_url
    import django
    from django.conf import settings

    django.setup()
    # The schema straight from the models (like ``pytest --nomigrations``): the benchmark does not
    # depend on the migration history of the day.
    settings.MIGRATION_MODULES = {app.label: None for app in django.apps.apps.get_app_configs()}


def _media_root(work: Path) -> None:
    from django.conf import settings

    settings.MEDIA_ROOT = work / "media"


def _fresh_database(database_url: str, work: Path) -> None:
    if database_url.startswith("sqlite"):
        Path(database_url.removeprefix("sqlite:///")).unlink(missing_ok=True)
        return
    import psycopg

    name = database_url.rsplit("/", 1)[1]
    admin_url = database_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')


# --- data --------------------------------------------------------------------------------------


def _id_number(prefix: str, born: date, seq: int) -> str:
    from lowbao.people.id_numbers import compute_check_char

    body = f"{prefix}{born:%Y%m%d}{seq:03d}"
    return body + compute_check_char(body)


def _areas() -> dict[str, list]:
    from lowbao.areas.models import Area, AreaLevel
    from lowbao.areas.services import AreaRow, area_load_rows, area_load_shipped

    area_load_shipped()
    rows = []
    for county in (BIG_COUNTY, SMALL_COUNTY):
        for t in range(TOWNSHIPS_PER_COUNTY):
            township = f"{county[:6]}{100 + t:03d}000"
            rows.append(AreaRow(township, f"第{t + 1}镇", AreaLevel.TOWNSHIP, county))
            for v in range(VILLAGES_PER_TOWNSHIP):
                code = f"{township[:9]}{200 + v:03d}"
                rows.append(AreaRow(code, f"第{t + 1}镇{v + 1}村", AreaLevel.VILLAGE, township))
    area_load_rows(actor=None, rows=rows, source="bench")
    return {
        county: list(
            Area.objects.filter(level=AreaLevel.VILLAGE, path__contains=f"/{county}/").order_by(
                "code"
            )
        )
        for county in (BIG_COUNTY, SMALL_COUNTY)
    }


def _roster(county_code: str, villages: list, persons: int, rng: random.Random) -> None:
    """``persons`` people in households of 1–5 in payment, with accounts and phones."""
    from cases.choices import HouseholdStatus, LabourCapacity, Programme, Relation
    from cases.models import Household, HouseholdMember
    from lowbao.areas.models import Area
    from lowbao.people.models import Person
    from lowbao.people.protection import (
        PURPOSE_BANK_ACCOUNT,
        blind_index,
        encrypt,
        id_number_blind_index,
    )

    county = Area.objects.get(code=county_code)
    relations = [Relation.HEAD, Relation.SPOUSE, Relation.SON, Relation.DAUGHTER, Relation.MOTHER]
    labour = [choice for choice, _label in LabourCapacity.choices]
    made = 0
    number = 0
    batch_households: list = []
    batch_people: list = []
    while made < persons:
        size = min(rng.randint(1, 5), persons - made)
        number += 1
        account = f"62284800{rng.randrange(10**11):011d}"
        household = Household(
            area=villages[number % len(villages)],
            county=county,
            programme=Programme.TEKUN if number % 9 == 0 else Programme.DIBAO,
            number=f"DB{number:07d}",
            status=HouseholdStatus.IN_PAYMENT,
            classification=("一类", "二类", "三类")[number % 3],
            monthly_amount=Decimal(rng.randrange(200, 1500)),
            per_capita_income_monthly=Decimal(rng.randrange(0, 40000)) / 100,
            payment_start_month=date(2020 + number % 6, 1 + number % 12, 1),
            bank_name="内蒙古农村信用社",
            bank_account_ciphertext=encrypt(account),
            bank_account_hash=blind_index(account, purpose=PURPOSE_BANK_ACCOUNT),
            phone_ciphertext=encrypt(f"13{rng.randrange(10**9):09d}"),
        )
        batch_households.append(household)
        for index in range(size):
            serial = made + index
            born = FIRST_BIRTH + timedelta(days=serial % 25_000)  # unique with the sequence
            id_number = _id_number(county_code[:6], born, serial // 25_000)
            person = Person(
                id_number_hash=id_number_blind_index(id_number),
                id_number_ciphertext=encrypt(id_number),
                name=rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.randint(1, 2))),
                sex="男" if int(id_number[16]) % 2 else "女",
                birth_date=born,
                ethnicity=("01", "02")[serial % 2],
            )
            batch_people.append((household, person, relations[index], rng.choice(labour)))
        made += size
        if len(batch_people) >= 5000 or made >= persons:
            Household.objects.bulk_create(batch_households, batch_size=2000)
            Person.objects.bulk_create([p for _h, p, _r, _l in batch_people], batch_size=2000)
            HouseholdMember.objects.bulk_create(
                [
                    HouseholdMember(
                        household=h, person=p, relation=r, labour_capacity=lab, in_payment=True
                    )
                    for h, p, r, lab in batch_people
                ],
                batch_size=2000,
            )
            batch_households, batch_people = [], []


def _actor():
    from lowbao.accounts.services import user_create
    from lowbao.areas.models import Area
    from lowbao.areas.roles import Role
    from lowbao.areas.services import role_assign

    user = user_create(actor=None, username="bench", password=None, display_name="")
    for code in (BIG_COUNTY, SMALL_COUNTY):
        role_assign(
            actor=None, user=user, role=Role.COUNTY_CIVIL_AFFAIRS, area=Area.objects.get(code=code)
        )
    return user


def _seed(persons: int, small: int) -> None:
    from django.core.management import call_command

    call_command("migrate", run_syncdb=True, verbosity=0)
    rng = random.Random(7)
    villages = _areas()
    _roster(BIG_COUNTY, villages[BIG_COUNTY], persons, rng)
    _roster(SMALL_COUNTY, villages[SMALL_COUNTY], small, rng)
    _actor()


# --- measurements ------------------------------------------------------------------------------


def _clock() -> float:
    """Process CPU time when the database runs in this process (SQLite): the other load on a
    shared 2-core machine then does not enter the ratio; wall-clock time for a database server,
    whose work the process CPU time would leave out."""
    return time.process_time() if CLOCK == "cpu" else time.perf_counter()


CLOCK = "cpu"


def _export(county_code: str) -> tuple[int, float]:
    from lowbao.accounts.models import User
    from lowbao.areas.models import Area
    from lowbao.exports.services import export_job_request

    actor = User.objects.get(username="bench")
    county = Area.objects.get(code=county_code)
    started = _clock()
    job = export_job_request(actor=actor, kind="dibao", county=county, filters={})
    job.refresh_from_db()
    elapsed = _clock() - started
    if job.status != "done":
        raise SystemExit(f"export failed: {job.status} {job.error_message}")
    return job.row_count or 0, elapsed


def _same_values(county_code: str) -> list[list[object]]:
    """The cell values the export writes: the builder's rows, masked like the writer masks."""
    from lowbao.accounts.models import User
    from lowbao.areas.models import Area
    from lowbao.exports.registry import ExportQuery, get_export
    from lowbao.people.masking import mask_bank_account, mask_id_number, mask_phone

    kind = get_export("dibao")
    query = ExportQuery(
        actor=User.objects.get(username="bench"),
        area=Area.objects.get(code=county_code),
        filters={},
    )
    masks = {
        index: mask
        for index, header in enumerate(kind.headers)
        for columns, mask in (
            (kind.id_columns, mask_id_number),
            (kind.account_columns, mask_bank_account),
            (kind.phone_columns, mask_phone),
        )
        if header in columns
    }
    rows = []
    for row in kind.build_rows(query):
        values = [float(v) if isinstance(v, Decimal) else v for v in row]
        for index, mask in masks.items():
            if values[index]:
                values[index] = mask(values[index])
        rows.append([None if v == "" else v for v in values])
    return rows


def _baseline(rows: list[list[object]], headers: tuple[str, ...], path: Path) -> float:
    import xlsxwriter

    started = _clock()
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = workbook.add_worksheet()
    sheet.write_row(0, 0, headers)
    for number, row in enumerate(rows, start=1):
        sheet.write_row(number, 0, row)
    workbook.close()
    return _clock() - started


def _peak_rss_mb(database_url: str, work: Path, county: str) -> float:
    output = subprocess.run(
        [sys.executable, __file__, "--child-export", county, "--database", database_url],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "BENCH_WORK_DIR": str(work)},
    ).stdout
    return float(output.strip().splitlines()[-1])


def _child(county: str, database_url: str) -> None:
    _configure(database_url)
    _media_root(Path(os.environ["BENCH_WORK_DIR"]))
    _export(county)
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child-export", default="")
    parser.add_argument("--database", default="")
    args = parser.parse_args()
    if args.child_export:
        _child(args.child_export, args.database)
        return 0

    with tempfile.TemporaryDirectory(prefix="lowbao-bench-export-") as tmp:
        work = Path(tmp)
        database_url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{work}/bench.sqlite3"
        global CLOCK
        CLOCK = "cpu" if database_url.startswith("sqlite") else "wall"
        _fresh_database(database_url, work)
        _configure(database_url)
        _media_root(work)
        started = time.perf_counter()
        _seed(args.persons, args.small)
        seconds = time.perf_counter() - started
        engine = database_url.split(":", 1)[0]
        print(f"# seeded {args.persons} + {args.small} persons in {seconds:.0f} s ({engine})")
        from lowbao.exports.registry import get_export

        headers = get_export("dibao").headers
        values = _same_values(BIG_COUNTY)
        export_rates, baseline_rates = [], []
        for run in range(args.runs):
            base_seconds = _baseline(values, headers, work / f"baseline-{run}.xlsx")
            baseline_rates.append(len(values) / base_seconds)
            rows, seconds = _export(BIG_COUNTY)
            export_rates.append(rows / seconds)
            print(
                f"# run {run + 1} ({CLOCK} time): export {rows} rows {seconds:.2f} s, "
                f"baseline {len(values)} rows {base_seconds:.2f} s",
                flush=True,
            )
        export_rate = statistics.median(export_rates)
        baseline_rate = statistics.median(baseline_rates)
        del values
        small_rss = _peak_rss_mb(database_url, work, SMALL_COUNTY)
        big_rss = _peak_rss_mb(database_url, work, BIG_COUNTY)
        print(f"P7 export_rows_per_s {export_rate:.0f}")
        print(f"P7 baseline_xlsxwriter_rows_per_s {baseline_rate:.0f}")
        print(f"P7 export_rows_per_s_ratio {export_rate / baseline_rate:.2f} (>= 0.7)")
        print(f"P7 export_peak_rss_mb_{args.small} {small_rss:.0f}")
        print(f"P7 export_peak_rss_mb_{args.persons} {big_rss:.0f}")
        print(f"P7 export_memory_ratio {big_rss / small_rss:.2f} (<= 1.5)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
