# ruff: noqa: S608 - table names are the generator's own constants; values are parameters
"""A synthetic province straight into PostgreSQL, for the reconciliation benchmark (P5).

Both ledgers of every banner/county of the shipped area table (103), written with COPY:

- **Areas.** 8–12 townships per county and 10–18 villages per township (12-digit codes under the
  county's), about 1,000 townships and 14,000 villages.
- **People.** ``--persons`` distinct persons (default 200,000; P5 is 1,000,000), spread over the
  counties unevenly. Valid GB 11643 ID numbers with the county's area prefix, birth dates that fit
  the person's place in the family, the sex digit matching; stored like ``person_upsert`` does
  (AES-GCM ciphertext and blind index).
- **Families** of 1–6 persons, each one of: both ledgers and consistent (``linked``); both with
  a difference (attribute, amount, members, 已脱贫 without gradual exit, several at once; or
  已脱贫 in a gradual exit, which is fine); split (one dibao household = two registry households,
  or the other way); dibao only (some below the poverty line: 应扶尽扶); registry only (some
  marked 低保/特困 贫困户, some poor without labour: 应保尽保). 低保 and 特困; some dibao
  households stopped or suspended (not in the roster on the date).
- **Duplicates.** A few persons also sit in a registry household of another county, or are also
  listed (not paid) in a second dibao household, some of the other programme (低保特困重复).
- **Registry history.** Two full snapshots per county (January and June); the June one is in
  force on the benchmark's as-of date, 1 July.

Every category of reconciliation.md is represented. Deterministic for a ``--seed``.

    .venv/bin/python bench/province.py --persons 1000000 [--seed 7] [--reset]

Uses ``DATABASE_URL`` (default ``postgres://postgres@127.0.0.1:5432/lowbao_bench_recon``); the
database must exist and be migrated (``bench_reconcile.py`` creates and migrates it).
"""

import argparse
import os
import random
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/lowbao_bench_recon"
AS_OF = date(2026, 7, 1)
OLD_SNAPSHOT = date(2026, 1, 15)
SNAPSHOT = date(2026, 6, 15)
PERIOD_START = date(2025, 1, 1)
POVERTY_LINE = Decimal("4000.00")
META_TABLE = "bench_province_meta"

SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董程曹袁邓许傅沈曾彭吕"
    "苏卢蒋蔡贾丁魏薛叶余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史"
)
GIVEN = [
    "建国",
    "志强",
    "卫东",
    "海军",
    "明",
    "磊",
    "伟",
    "军",
    "勇",
    "斌",
    "涛",
    "俊杰",
    "国庆",
    "建华",
    "永胜",
    "宝音",
    "巴特尔",
    "那日苏",
    "朝鲁",
    "苏和",
    "孟和",
    "毕力格",
    "秀英",
    "桂兰",
    "玉珍",
    "丽娟",
    "淑珍",
    "春花",
    "静",
    "芳",
    "燕",
    "霞",
    "红梅",
    "玉兰",
    "乌云",
    "其其格",
    "斯琴",
    "萨仁",
    "图雅",
    "高娃",
    "娜仁",
    "托娅",
    "塔娜",
]

# family kinds and their weights (per family)
KINDS: tuple[tuple[str, int], ...] = (
    ("linked", 280),
    ("linked_grace", 10),
    ("attr", 20),
    ("amount", 20),
    ("member", 30),
    ("exit", 15),
    ("several", 5),
    ("split_dibao", 5),
    ("split_registry", 5),
    ("dibao_only", 300),
    ("registry_only", 310),
)
SIZES = ((1, 18), (2, 30), (3, 22), (4, 17), (5, 9), (6, 4))


def setup_django() -> None:
    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lowbao.settings.local")
    os.environ.setdefault("DJANGO_DEBUG", "false")
    import django

    django.setup()


def weighted(rng: random.Random, table: Sequence[tuple[Any, int]]) -> Any:
    values, weights = zip(*table, strict=True)
    return rng.choices(values, weights=weights)[0]


@dataclass
class Tables:
    """Rows waiting for COPY, per table, in foreign-key order."""

    order: tuple[str, ...] = (
        "areas_area",
        "people_person",
        "cases_household",
        "cases_householdmember",
        "cases_benefitperiod",
        "poverty_registrysnapshot",
        "poverty_registryhousehold",
        "poverty_registrymember",
        "poverty_registrysnapshotentry",
        "poverty_registrysnapshotmember",
        "cases_guaranteestandard",
    )
    columns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    rows: dict[str, list[tuple]] = field(default_factory=dict)
    next_id: dict[str, int] = field(default_factory=dict)

    def add(self, table: str, values: dict[str, Any]) -> int:
        row_id = self.next_id[table]
        self.next_id[table] = row_id + 1
        values = {"id": row_id, **values}
        columns = self.columns.setdefault(table, tuple(values))
        self.rows.setdefault(table, []).append(tuple(values[c] for c in columns))
        return row_id

    def flush(self, cursor: Any) -> int:
        written = 0
        for table in self.order:
            rows = self.rows.get(table)
            if not rows:
                continue
            names = ", ".join(f'"{c}"' for c in self.columns[table])
            with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            written += len(rows)
            rows.clear()
        return written


@dataclass
class Person:
    id: int
    birth: date
    male: bool


@dataclass
class Generator:
    persons_target: int
    seed: int
    rng: random.Random = field(init=False)
    tables: Tables = field(default_factory=Tables)
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    used_ids: set[str] = field(default_factory=set)
    persons: int = 0
    reservoir: list[tuple[int, int]] = field(default_factory=list)  # (person id, county id)
    counts: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    # -- identities --

    def _id_number(self, prefix: str, birth: date, male: bool) -> str:
        from lowbao.people.id_numbers import compute_check_char

        while True:
            seq = self.rng.randrange(0, 500) * 2 + (1 if male else 0)
            body = f"{prefix}{birth:%Y%m%d}{seq:03d}"
            number = body + compute_check_char(body)
            if number not in self.used_ids:
                self.used_ids.add(number)
                return number

    def person(self, prefix: str, birth: date, male: bool) -> Person:
        from lowbao.people.protection import encrypt, id_number_blind_index

        number = self._id_number(prefix, birth, male)
        name = self.rng.choice(SURNAMES) + self.rng.choice(GIVEN)
        person_id = self.tables.add(
            "people_person",
            {
                "created_at": self.now,
                "updated_at": self.now,
                "id_number_hash": id_number_blind_index(number),
                "id_number_ciphertext": encrypt(number),
                "name": name,
                "sex": "男" if male else "女",
                "birth_date": birth,
                "ethnicity": "01" if self.rng.random() < 0.8 else "02",
                "phone_ciphertext": "",
            },
        )
        self.persons += 1
        return Person(person_id, birth, male)

    def family(self, prefix: str, size: int) -> list[Person]:
        head_birth = date(1940, 1, 1) + timedelta(days=self.rng.randrange(0, 365 * 55))
        male = self.rng.random() < 0.7
        members = [self.person(prefix, head_birth, male)]
        if size > 1:
            spouse_birth = head_birth + timedelta(days=self.rng.randrange(-1500, 1500))
            members.append(self.person(prefix, spouse_birth, not male))
        for _ in range(size - len(members)):
            child_birth = head_birth + timedelta(days=365 * self.rng.randrange(20, 36))
            child_birth = min(child_birth, date(2024, 12, 31))
            members.append(self.person(prefix, child_birth, self.rng.random() < 0.5))
        return members

    # -- areas --

    def areas(self, county: Any) -> list[tuple[int, int]]:
        """Townships and villages of ``county``: [(village id, township id)]."""
        villages = []
        for t in range(self.rng.randrange(8, 13)):
            code = f"{county.code[:6]}{100 + t:03d}000"
            path = f"{county.path}{code}/"
            township = self.tables.add(
                "areas_area",
                {
                    "created_at": self.now,
                    "updated_at": self.now,
                    "code": code,
                    "name": f"{county.name}第{t + 1}苏木",
                    "level": "township",
                    "parent_id": county.pk,
                    "path": path,
                    "urban_rural_class": "",
                    "valid_from": None,
                    "valid_to": None,
                },
            )
            for v in range(self.rng.randrange(10, 19)):
                village_code = f"{code[:9]}{200 + v:03d}"
                village = self.tables.add(
                    "areas_area",
                    {
                        "created_at": self.now,
                        "updated_at": self.now,
                        "code": village_code,
                        "name": f"第{t + 1}苏木第{v + 1}嘎查",
                        "level": "village",
                        "parent_id": township,
                        "path": f"{path}{village_code}/",
                        "urban_rural_class": "220",
                        "valid_from": None,
                        "valid_to": None,
                    },
                )
                villages.append((village, township))
        return villages

    # -- ledgers --

    def dibao(
        self,
        county: Any,
        village: int,
        number: str,
        members: Sequence[Person],
        *,
        programme: str,
        income: Decimal,
        amount: Decimal,
        state: str = "paid",
        extra: Sequence[int] = (),
    ) -> int:
        status = {"paid": "in_payment", "grace": "gradual_exit", "stopped": "stopped"}.get(
            state, "suspended"
        )
        household = self.tables.add(
            "cases_household",
            {
                "created_at": self.now,
                "updated_at": self.now,
                "area_id": village,
                "county_id": county.pk,
                "programme": programme,
                "number": number,
                "status": status,
                "coverage_scope": "whole_household",
                "classification": "",
                "address": "",
                "monthly_amount": amount if state != "stopped" else Decimal("0"),
                "per_capita_income_monthly": income,
                "medical_expense_monthly": Decimal("0"),
                "education_expense_monthly": Decimal("0"),
                "employment_cost_monthly": Decimal("0"),
                "disability_expense_monthly": Decimal("0"),
                "payment_start_month": PERIOD_START,
                "certificate_number": "",
                "bank_name": "",
                "bank_account_ciphertext": "",
                "bank_account_hash": "",
                "phone_ciphertext": "",
                "grace_start": date(2026, 4, 1) if state == "grace" else None,
                "grace_months": 12 if state == "grace" else None,
                "grace_end": date(2027, 4, 1) if state == "grace" else None,
                "original_amount": amount if state == "grace" else None,
                "tekun_support_mode": "dispersed" if programme == "tekun" else "",
                "check_due": None,
                "check_reason": "",
                "is_close_relative_case": False,
                "migrated_from": "bench",
                "stopped_at": date(2026, 3, 31) if state == "stopped" else None,
                "stop_reason": "收入超标" if state == "stopped" else "",
            },
        )
        paid = state != "stopped"
        for index, person in enumerate(members):
            self._member(household, person.id, index, in_payment=paid)
        for person_id in extra:  # listed in a second household, not paid there
            self._member(household, person_id, len(members), in_payment=False)
        self.tables.add(
            "cases_benefitperiod",
            {
                "created_at": self.now,
                "updated_at": self.now,
                "household_id": household,
                "start_month": PERIOD_START,
                "end_month": date(2026, 3, 1) if state == "stopped" else None,
                "monthly_amount": amount,
                "covered_persons": len(members),
                "kind": "gradual_exit" if state == "grace" else "normal",
                "reason": "bench",
                "is_suspended": state == "suspended",
                "created_by_id": None,
            },
        )
        return household

    def _member(self, household: int, person_id: int, index: int, *, in_payment: bool) -> None:
        self.tables.add(
            "cases_householdmember",
            {
                "created_at": self.now,
                "updated_at": self.now,
                "household_id": household,
                "person_id": person_id,
                "relation": "01" if index == 0 else "03",
                "is_counted": True,
                "exclusion_reason": "",
                "is_covered": True,
                "labour_capacity": "lost",
                "health": "",
                "disability_type": "",
                "disability_grade": None,
                "disability_certificate": "",
                "school_status": "",
                "work_refusals": 0,
                "share_reduced": False,
                "left_at": None,
                "left_reason": "",
                "in_payment": in_payment,
            },
        )

    def registry(
        self,
        county: Any,
        snapshots: tuple[int, int],
        village: int,
        number: str,
        members: Sequence[int],
        *,
        attribute: str,
        status: str,
        income: Decimal,
        amount: Decimal | None,
        labour: Sequence[str],
    ) -> None:
        household = self.tables.add(
            "poverty_registryhousehold",
            {
                "created_at": self.now,
                "updated_at": self.now,
                "county_id": county.pk,
                "area_id": village,
                "number": number,
                "attribute": attribute,
                "main_cause": "08",
                "other_causes": "[]",
                "poverty_status": status,
                "exit_year": 2020 if status == "out" else None,
                "identified_year": 2014,
                "annual_income_per_capita": income,
                "dibao_amount_recorded": amount,
                "helper_name": "",
                "helper_unit": "",
                "in_registry": True,
                "left_registry_on": None,
                "first_snapshot_id": snapshots[0],
                "last_snapshot_id": snapshots[1],
            },
        )
        for index, (person_id, capacity) in enumerate(zip(members, labour, strict=True)):
            self.tables.add(
                "poverty_registrymember",
                {
                    "created_at": self.now,
                    "updated_at": self.now,
                    "household_id": household,
                    "person_id": person_id,
                    "person_number": "",
                    "relation": "01" if index == 0 else "03",
                    "education": "",
                    "school_status": "",
                    "health": "",
                    "labour_capacity": capacity,
                    "work_status": "",
                    "work_months": None,
                    "disability_certificate": "",
                },
            )
        for snapshot in snapshots:
            entry = self.tables.add(
                "poverty_registrysnapshotentry",
                {
                    "snapshot_id": snapshot,
                    "household_id": household,
                    "attribute": attribute,
                    "poverty_status": status,
                    "annual_income_per_capita": income,
                    "dibao_amount_recorded": amount,
                    "area_id": village,
                    "data_hash": f"{household:x}",
                    "change": "created" if snapshot == snapshots[0] else "unchanged",
                },
            )
            for person_id, capacity in zip(members, labour, strict=True):
                self.tables.add(
                    "poverty_registrysnapshotmember",
                    {"entry_id": entry, "person_id": person_id, "labour_capacity": capacity},
                )

    # -- one county --

    def county(self, county: Any, quota: int, standard: Decimal) -> None:
        prefix = county.code[:6]
        villages = self.areas(county)
        snapshots = tuple(
            self.tables.add(
                "poverty_registrysnapshot",
                {
                    "created_at": self.now,
                    "updated_at": self.now,
                    "county_id": county.pk,
                    "snapshot_date": day,
                    "source": "import",
                    "source_name": "bench.xlsx",
                    "content_hash": f"bench-{county.code}-{day:%Y%m}",
                    "household_count": 0,
                    "person_count": 0,
                    "created_count": 0,
                    "updated_count": 0,
                    "unchanged_count": 0,
                    "left_count": 0,
                    "is_partial": False,
                    "created_by_id": None,
                },
            )
            for day in (OLD_SNAPSHOT, SNAPSHOT)
        )
        self.tables.add(
            "cases_guaranteestandard",
            {
                "created_at": self.now,
                "updated_at": self.now,
                "area_id": county.pk,
                "effective_from": date(2026, 1, 1),
                "rural_dibao_monthly": standard,
                "tekun_basic_monthly": standard * Decimal("1.3"),
                "source": "bench",
                "is_confirmed": False,
            },
        )
        numbers = {"d": 0, "r": 0}

        def next_number(side: str) -> str:
            numbers[side] += 1
            if side == "d":
                return f"DB{prefix}{numbers[side]:06d}"
            return f"{prefix}{numbers[side]:07d}"

        start = self.persons
        while self.persons - start < quota:
            self._family(county, prefix, villages, snapshots, standard, next_number)

    def _labours(self, count: int, able: bool) -> list[str]:
        values = [self.rng.choice(("lost", "none", "weak")) for _ in range(count)]
        if able:
            values[self.rng.randrange(count)] = self.rng.choice(("ordinary", "skilled"))
        return values

    def _family(
        self,
        county: Any,
        prefix: str,
        villages: list[tuple[int, int]],
        snapshots: tuple[int, int],
        standard: Decimal,
        next_number: Any,
    ) -> None:
        """One family, in the ledgers as its kind says (see ``KINDS``)."""
        rng = self.rng
        kind = weighted(rng, KINDS)
        size = weighted(rng, SIZES)
        if kind.startswith("split") and size < 2:
            size = 2
        village, _ = rng.choice(villages)
        members = self.family(prefix, size)
        programme = "tekun" if size == 1 and rng.random() < 0.3 else "dibao"
        attribute = "tekun" if programme == "tekun" else "dibao"
        income = Decimal(rng.randrange(5000, 40000)) / 100  # 50 … 400 yuan a month
        if kind == "dibao_only":
            # most dibao-only households live above the poverty line; some do not (应扶尽扶)
            below = rng.random() < 0.15
            income = Decimal(rng.randrange(1000, 33000) if below else rng.randrange(33400, 45000))
            income /= 100
        amount = max(Decimal("50"), ((standard - income) * size).quantize(Decimal("1")))
        state = "paid"
        if kind in ("dibao_only", "linked") and rng.random() < 0.06:
            state = "stopped" if rng.random() < 0.8 else "suspended"
        if kind == "linked_grace":
            state = "grace"
        ids = [p.id for p in members]
        extra_dibao: list[int] = []
        extra_registry: list[int] = []
        if self.reservoir and rng.random() < 0.004:
            extra_dibao.append(rng.choice(self.reservoir)[0])
        if self.reservoir and rng.random() < 0.004:
            extra_registry.append(rng.choice(self.reservoir)[0])
        self.counts[kind] = self.counts.get(kind, 0) + 1

        def add_registry(person_ids: list[int], **values: Any) -> None:
            values.setdefault("status", "not_out")
            values.setdefault("attribute", attribute)
            values.setdefault("amount", amount if rng.random() < 0.5 else None)
            values.setdefault("income", Decimal(rng.randrange(300000, 900000)) / 100)
            values.setdefault("labour", self._labours(len(person_ids), rng.random() < 0.5))
            place = rng.choice(villages)[0] if rng.random() < 0.05 else village
            self.registry(county, snapshots, place, next_number("r"), person_ids, **values)

        def add_dibao(persons: Sequence[Person], **values: Any) -> None:
            values.setdefault("programme", programme)
            values.setdefault("income", income)
            values.setdefault("amount", amount)
            values.setdefault("state", state)
            self.dibao(county, village, next_number("d"), persons, extra=extra_dibao, **values)

        if kind in ("linked", "linked_grace"):
            add_dibao(members)
            linked_ids = ids + extra_registry
            add_registry(linked_ids, labour=self._labours(len(linked_ids), False))
        elif kind == "attr":
            add_dibao(members)
            add_registry(ids, attribute="general")
        elif kind == "amount":
            add_dibao(members)
            add_registry(ids, amount=amount + Decimal(rng.randrange(5, 200)))
        elif kind == "member":
            add_dibao(members)
            outsider = self.person(prefix, members[0].birth, True).id
            add_registry([*ids[:-1], outsider] if size > 1 else [*ids, outsider])
        elif kind == "exit":
            add_dibao(members)
            add_registry(ids, status="out")
        elif kind == "several":
            add_dibao(members)
            add_registry(
                ids[: max(1, size - 1)], attribute="general", status="out", amount=amount + 90
            )
        elif kind == "split_dibao":
            add_dibao(members)
            half = size // 2
            add_registry(ids[:half])
            add_registry(ids[half:], attribute="general")
        elif kind == "split_registry":
            half = size // 2
            add_dibao(members[:half])
            add_dibao(members[half:], programme="tekun")
            add_registry(ids)
        elif kind == "dibao_only":
            add_dibao(members)
        else:  # registry only
            poor = rng.random() < 0.1
            listed = ids + extra_registry
            add_registry(
                listed,
                attribute=weighted(rng, (("general", 85), ("dibao", 10), ("tekun", 5))),
                status="not_out"
                if poor
                else weighted(rng, (("out", 55), ("not_out", 38), ("returned", 7))),
                income=Decimal(
                    rng.randrange(150000, 550000) if poor else rng.randrange(300000, 1200000)
                )
                / 100,
                amount=None,
                labour=self._labours(len(listed), not poor),
            )
        if rng.random() < 0.01:
            self.reservoir.append((members[0].id, county.pk))


def reset(cursor: Any) -> None:
    """Empty the tables the generator fills (and what hangs off them)."""
    cursor.execute(
        "TRUNCATE review_itemevent, review_reconciliationfinding, review_reconciliationitem, "
        "review_reconciliationrun, review_reconciliationsweep, poverty_registrysnapshotmember, "
        "poverty_registrysnapshotentry, poverty_registrymember, poverty_registryhousehold, "
        "poverty_registrysnapshot, cases_benefitperiod, cases_householdmember, cases_household, "
        "people_person RESTART IDENTITY CASCADE"
    )
    cursor.execute("DELETE FROM areas_area WHERE level IN ('township', 'village')")
    cursor.execute("DELETE FROM cases_guaranteestandard WHERE source = 'bench'")
    cursor.execute(f"DROP TABLE IF EXISTS {META_TABLE}")


def generated(cursor: Any) -> tuple[int, int] | None:
    """(persons, seed) of the province in the database, if one was generated."""
    cursor.execute("SELECT to_regclass(%s)", [META_TABLE])
    if cursor.fetchone()[0] is None:
        return None
    cursor.execute(f"SELECT persons, seed FROM {META_TABLE}")
    row = cursor.fetchone()
    return (row[0], row[1]) if row else None


def generate(*, persons: int, seed: int, log: Any = print) -> dict[str, int]:
    """Fill the database (Django set up, migrated) with a province of ``persons`` persons."""
    from django.db import connection, transaction

    from cases.models import PovertyLine
    from lowbao.areas.models import Area, AreaLevel

    started = time.perf_counter()
    counties = list(Area.objects.filter(level=AreaLevel.COUNTY).order_by("code"))
    if not counties:
        raise SystemExit("no counties: run migrate first (the shipped areas are loaded then)")
    generator = Generator(persons_target=persons, seed=seed)
    rng = random.Random(seed + 1)
    weights = [rng.uniform(0.4, 1.6) for _ in counties]
    total = sum(weights)
    quotas = [max(1, round(persons * w / total)) for w in weights]
    quotas[-1] += persons - sum(quotas)
    with connection.cursor() as cursor:
        reset(cursor)
        for table in generator.tables.order:
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {table}")
            generator.tables.next_id[table] = cursor.fetchone()[0]
    PovertyLine.objects.update_or_create(
        year=AS_OF.year, defaults={"annual_amount": POVERTY_LINE, "source": "bench"}
    )
    rows = 0
    for index, (county, quota) in enumerate(zip(counties, quotas, strict=True)):
        standard = Decimal(rng.randrange(430, 540))
        generator.county(county, quota, standard)
        if index % 10 == 9 or index == len(counties) - 1:
            with transaction.atomic(), connection.cursor() as cursor:
                rows += generator.tables.flush(cursor)
            log(
                f"  {index + 1}/{len(counties)} counties, {generator.persons:,} persons, "
                f"{rows:,} rows, {time.perf_counter() - started:.0f}s"
            )
    with connection.cursor() as cursor:
        for table in generator.tables.order:
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"
            )
        cursor.execute(f"CREATE TABLE {META_TABLE} (persons integer, seed integer)")
        cursor.execute(f"INSERT INTO {META_TABLE} VALUES (%s, %s)", [persons, seed])
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    log(f"  generated in {time.perf_counter() - started:.0f}s")
    return {"persons": generator.persons, "rows": rows, **generator.counts}


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--persons", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--reset", action="store_true", help="regenerate even if this province is there"
    )
    args = parser.parse_args(list(argv) if argv is not None else None)
    setup_django()
    from django.db import connection

    with connection.cursor() as cursor:
        existing = generated(cursor)
    if existing == (args.persons, args.seed) and not args.reset:
        print(f"province of {args.persons:,} persons (seed {args.seed}) already there")
        return 0
    summary = generate(persons=args.persons, seed=args.seed)
    print(" ".join(f"{key}={value:,}" for key, value in summary.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
