"""P5 (quality.md): ``reconcile --all`` on a generated province, against two baselines measured
in the same run.

1. **Full outer join** (target: reconcile ≤ 1.5× its time). The least work that compares the two
   ledgers at all: the dibao roster's and the registry's ID sets (keyed ID hashes of the members
   of the households in payment, and of the registry snapshot in force) written into two tables,
   then one FULL OUTER JOIN counting persons in both, only in the roster, only in the registry.
   Same session, same ``work_mem`` as the reconciliation.
2. **Per-row ORM loop** (target: reconcile ≥ 50× its persons per second). The same categories
   computed the naive way — for each household and each person, ORM queries — on a subset of
   small counties; its counts are checked against the service's for the same counties.

``reconcile --all`` runs in this process (``call_command``), so Django's start-up is not timed;
the first run (which creates every item) is reported apart, the ratio uses the median of the
following runs (carry-over: every item found again), each next to a baseline run.

    .venv/bin/python bench/bench_reconcile.py [--persons 200000] [--rounds 3]
        [--orm-persons 3000] [--regenerate]

The default (200,000 persons) runs in about two minutes, the generation included; P5 itself is
``--persons 1000000`` (the province takes 4–8 minutes to generate, once; later runs reuse it).
Per-person rate for the ORM comparison: persons of the province ÷ the median ``reconcile --all``
time, against persons looked at ÷ the ORM loop's time.

``DATABASE_URL`` defaults to ``postgres://postgres@127.0.0.1:5432/lowbao_bench_recon``; the
database is created and migrated when missing, and the province (``bench/province.py``)
generated when it is not the requested size. Prints ``P5 … (target)`` lines.
"""

import argparse
import io
import os
import statistics
import sys
import time
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.province import AS_OF, DEFAULT_DATABASE_URL, generate, generated, setup_django  # noqa: E402

BASELINE_TABLES = ("bench_dibao_ids", "bench_registry_ids")


def ensure_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1].split("?")[0]
    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            admin.execute(f'CREATE DATABASE "{name}"')
            print(f"created database {name}")


# --- baseline 1: both ID sets in tables + one FULL OUTER JOIN --------------------------------


def full_outer_join(as_of: date, work_mem: str) -> tuple[float, tuple[int, int, int]]:
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('work_mem', %s, false)", [work_mem])
        cursor.execute(
            "CREATE TEMPORARY TABLE bench_dibao_ids AS SELECT p.id_number_hash AS id_hash "
            "FROM cases_householdmember m JOIN cases_household h ON h.id = m.household_id "
            "JOIN people_person p ON p.id = m.person_id "
            "WHERE h.status IN ('in_payment', 'gradual_exit') "
            "AND (m.left_at IS NULL OR m.left_at > %s)",
            [as_of],
        )
        cursor.execute(
            "CREATE TEMPORARY TABLE bench_registry_ids AS SELECT p.id_number_hash AS id_hash "
            "FROM poverty_registrysnapshotmember sm "
            "JOIN poverty_registrysnapshotentry e ON e.id = sm.entry_id "
            "JOIN (SELECT county_id, MAX(id) AS id FROM poverty_registrysnapshot "
            "WHERE snapshot_date <= %s AND NOT is_partial GROUP BY county_id) s "
            "ON s.id = e.snapshot_id JOIN people_person p ON p.id = sm.person_id",
            [as_of],
        )
        cursor.execute(
            "SELECT COUNT(*) FILTER (WHERE d.id_hash IS NOT NULL AND r.id_hash IS NOT NULL), "
            "COUNT(*) FILTER (WHERE r.id_hash IS NULL), COUNT(*) FILTER (WHERE d.id_hash IS NULL) "
            "FROM bench_dibao_ids d FULL OUTER JOIN bench_registry_ids r ON r.id_hash = d.id_hash"
        )
        both, only_dibao, only_registry = cursor.fetchone()
        for table in BASELINE_TABLES:
            cursor.execute(f"DROP TABLE {table}")
        cursor.execute("RESET work_mem")
    return time.perf_counter() - started, (both, only_dibao, only_registry)


# --- reconcile --all -------------------------------------------------------------------------


def reconcile_all(as_of: date) -> tuple[float, list[Any]]:
    from django.core.management import call_command

    from review.models import ReconciliationSweep

    started = time.perf_counter()
    call_command("reconcile", "--all", "--as-of", as_of.isoformat(), stdout=io.StringIO())
    elapsed = time.perf_counter() - started
    sweep = ReconciliationSweep.objects.order_by("-pk").first()
    runs = list(sweep.runs.select_related("county")) if sweep else []
    return elapsed, runs


# --- baseline 2: a per-row ORM loop ----------------------------------------------------------


def orm_loop(county: Any, as_of: date) -> tuple[Counter, int]:
    """The categories of ``county`` the naive way: ORM queries per household and per person.
    Returns the counts and the number of distinct persons looked at."""
    from django.db.models import Q

    from cases.choices import PAYING_STATUSES
    from cases.models import BenefitPeriod, Household, HouseholdMember
    from cases.policy import poverty_line_for, standard_for
    from poverty.models import RegistrySnapshot, RegistrySnapshotEntry, RegistrySnapshotMember

    month = as_of.replace(day=1)
    counts: Counter = Counter()
    standard = standard_for(county, as_of).rural_dibao_monthly
    line = poverty_line_for(as_of.year).annual_amount

    def in_payment(household: Any) -> Any:
        """The period covering the month, True (no history, paid status) or None."""
        period = (
            BenefitPeriod.objects.filter(household=household, start_month__lte=month)
            .filter(Q(end_month__isnull=True) | Q(end_month__gte=month))
            .first()
        )
        if period is not None:
            return None if period.is_suspended else period
        if BenefitPeriod.objects.filter(household=household).exists():
            return None
        return True if household.status in PAYING_STATUSES else None

    def members_of(household: Any) -> set[int]:
        return {
            m.person_id
            for m in HouseholdMember.objects.filter(household=household)
            if m.left_at is None or m.left_at > as_of
        }

    def snapshots_of(county_id: int) -> list[int]:
        snapshots = RegistrySnapshot.objects.filter(county_id=county_id, snapshot_date__lte=as_of)
        base = snapshots.filter(is_partial=False).order_by("-pk").first()
        if base is not None:
            snapshots = snapshots.filter(pk__gte=base.pk)
        return list(snapshots.values_list("pk", flat=True))

    def current(entry: Any, snapshot_ids: list[int]) -> bool:
        return not RegistrySnapshotEntry.objects.filter(
            household_id=entry.household_id,
            snapshot_id__in=snapshot_ids,
            snapshot_id__gt=entry.snapshot_id,
        ).exists()

    snapshot_ids = snapshots_of(county.pk)
    dibao: dict[int, tuple[Any, Any, set[int]]] = {}
    for household in Household.objects.filter(county=county):
        paid = in_payment(household)
        if paid is not None:
            dibao[household.pk] = (household, paid, members_of(household))
    registry: dict[int, tuple[Any, dict[int, str]]] = {}
    for entry in RegistrySnapshotEntry.objects.filter(snapshot_id__in=snapshot_ids):
        if current(entry, snapshot_ids):
            registry[entry.household_id] = (
                entry,
                {
                    m.person_id: m.labour_capacity
                    for m in RegistrySnapshotMember.objects.filter(entry=entry)
                },
            )
    # links: for each dibao member, the registry households holding that person
    links: dict[int, set[int]] = {d: set() for d in dibao}
    reverse: dict[int, set[int]] = {r: set() for r in registry}
    for d_id, (_, _, members) in dibao.items():
        for person_id in members:
            for sm in RegistrySnapshotMember.objects.filter(
                person_id=person_id, entry__snapshot_id__in=snapshot_ids
            ).select_related("entry"):
                r_id = sm.entry.household_id
                if r_id in registry and registry[r_id][0].pk == sm.entry_id:
                    links[d_id].add(r_id)
                    reverse[r_id].add(d_id)
    for d_id, (household, paid, members) in dibao.items():
        linked = links[d_id]
        if len(linked) > 1:
            counts["split_household"] += 1
            continue
        if not linked:
            if household.per_capita_income_monthly * 12 < line:
                counts["should_register"] += 1
            continue
        (r_id,) = linked
        if len(reverse[r_id]) > 1:
            continue
        entry, registry_members = registry[r_id]
        amount = paid.monthly_amount if paid is not True else household.monthly_amount
        grace = (paid is not True and paid.kind == "gradual_exit") or (
            household.grace_start is not None
            and household.grace_start <= as_of
            and (household.grace_end is None or household.grace_end > as_of)
        )
        flags = {
            "attr_mismatch": (household.programme == "dibao" and entry.attribute != "dibao")
            or (household.programme == "tekun" and entry.attribute != "tekun"),
            "amount_mismatch": entry.dibao_amount_recorded is not None
            and abs(entry.dibao_amount_recorded - amount) >= 1,
            "member_mismatch": members != set(registry_members),
            "should_exit_review": entry.poverty_status == "out" and not grace,
        }
        for category, flag in flags.items():
            counts[category] += flag
        counts["linked"] += not any(flags.values())
    for r_id, (entry, registry_members) in registry.items():
        if len(reverse[r_id]) > 1:
            counts["split_household"] += 1
        if reverse[r_id]:
            continue
        if entry.attribute in ("dibao", "tekun"):
            counts["registry_dibao_missing"] += 1
        if (
            entry.poverty_status in ("not_out", "returned")
            and not {"ordinary", "skilled"} & set(registry_members.values())
            and entry.annual_income_per_capita < standard * 12
        ):
            counts["should_protect"] += 1
    # persons: every membership of each person, everywhere, one person at a time
    dibao_persons = {p for (_, _, members) in dibao.values() for p in members}
    registry_persons = {p for (_, members) in registry.values() for p in members}
    snapshots_by_county: dict[int, list[int]] = {}
    for person_id in dibao_persons | registry_persons:
        duplicate = tekun_too = False
        if person_id in dibao_persons:
            programmes = []
            for member in HouseholdMember.objects.filter(person_id=person_id).select_related(
                "household"
            ):
                if (member.left_at is None or member.left_at > as_of) and in_payment(
                    member.household
                ) is not None:
                    programmes.append(member.household.programme)
            duplicate = len(programmes) > 1
            tekun_too = {"dibao", "tekun"} <= set(programmes)
        if person_id in registry_persons:
            households = set()
            for sm in RegistrySnapshotMember.objects.filter(person_id=person_id).select_related(
                "entry", "entry__snapshot"
            ):
                county_id = sm.entry.snapshot.county_id
                if county_id not in snapshots_by_county:
                    snapshots_by_county[county_id] = snapshots_of(county_id)
                if sm.entry.snapshot_id in snapshots_by_county[county_id] and current(
                    sm.entry, snapshots_by_county[county_id]
                ):
                    households.add(sm.entry.household_id)
            duplicate = duplicate or len(households) > 1
        counts["duplicate_person"] += duplicate
        counts["dibao_and_tekun"] += tekun_too
    return counts, len(dibao_persons | registry_persons)


def orm_subset(runs: list[Any], target: int) -> list[Any]:
    """Counties from the smallest up, until about ``target`` persons."""
    chosen, persons = [], 0
    for run in sorted(runs, key=lambda r: r.dibao_households + r.registry_households):
        chosen.append(run)
        persons += 2 * (run.dibao_households + run.registry_households)
        if persons >= target:
            break
    return chosen


def province_persons() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM people_person")
        return cursor.fetchone()[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="P5: reconcile --all vs. its baselines")
    parser.add_argument("--persons", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--orm-persons", type=int, default=3000)
    parser.add_argument("--regenerate", action="store_true")
    args = parser.parse_args(argv)
    wall = time.perf_counter()
    url = os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    if not url.startswith("postgres"):
        print("P5 needs PostgreSQL (DATABASE_URL=postgres://…)")
        return 1
    ensure_database(url)
    setup_django()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        existing = generated(cursor)
    if existing != (args.persons, args.seed) or args.regenerate:
        print(f"generating a province of {args.persons:,} persons …", flush=True)
        generate(persons=args.persons, seed=args.seed)
    persons = province_persons()
    work_mem = str(getattr(settings, "LOWBAO_RECONCILIATION_WORK_MEM", "256MB"))
    print(f"province: {persons:,} persons; as-of {AS_OF}; work_mem {work_mem}", flush=True)

    first, runs = reconcile_all(AS_OF)
    totals: Counter = Counter()
    for run in runs:
        totals.update(dict(run.counts or {}))
    failed = [run for run in runs if run.status != "finished"]
    print(f"first reconcile --all of this run: {first:.2f}s, {len(runs)} counties")
    print("  " + ", ".join(f"{code} {count:,}" for code, count in totals.items()))
    if failed:
        print(f"  {len(failed)} counties failed: {failed[0].error}")
        return 1

    base_times, recon_times = [], []
    for _ in range(args.rounds):
        seconds, joined = full_outer_join(AS_OF, work_mem)
        base_times.append(seconds)
        seconds, runs = reconcile_all(AS_OF)
        recon_times.append(seconds)
    base, recon = statistics.median(base_times), statistics.median(recon_times)
    print(
        f"full outer join: median {base:.2f}s of {[round(t, 2) for t in base_times]} "
        f"(both {joined[0]:,}, only dibao {joined[1]:,}, only registry {joined[2]:,})"
    )
    print(f"reconcile --all: median {recon:.2f}s of {[round(t, 2) for t in recon_times]}")

    subset = orm_subset(runs, args.orm_persons)
    started = time.perf_counter()
    orm_persons, mismatches = 0, []
    for run in subset:
        counts, looked_at = orm_loop(run.county, AS_OF)
        orm_persons += looked_at
        expected = {k: v for k, v in run.counts.items() if v}
        if {k: v for k, v in counts.items() if v} != expected:
            mismatches.append((run.county.code, dict(counts), expected))
    orm = time.perf_counter() - started
    print(
        f"per-row ORM loop: {orm:.2f}s for {orm_persons:,} persons in {len(subset)} counties "
        f"({'same counts as the service' if not mismatches else f'MISMATCH {mismatches}'})"
    )
    orm_rate, recon_rate = orm_persons / orm, persons / recon
    print(f"P5 reconcile_vs_full_outer_join {recon / base:.2f} (<= 1.5)")
    print(f"P5 reconcile_vs_orm_loop {recon_rate / orm_rate:.0f} (>= 50)")
    print(f"wall time {time.perf_counter() - wall:.0f}s")
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
