"""P6: the big list pages at 1,000,000 persons (quality.md P6).

Uses the province of ``bench/province.py`` in ``lowbao_bench_recon`` (generated first when the
database does not hold a province of ``--persons``). Creates three bench users (a region
officer, a county civil-affairs officer of the biggest county and a caseworker of its biggest
township), logs them in a test client and times, for each list page, page 1 and a deep page (a
keyset cursor at ~90% of the list), ``--repeat`` times each (p95), and counts the queries of a
page of 20 and of 200 rows:

    P6 <list> page1_p95_ms N (<= 300)
    P6 <list> deep_vs_page1 x.xx (<= 1.5)
    P6 <list> queries_20_vs_200 a/b (equal)

Settings: ``lowbao.settings.local`` with ``DJANGO_DEBUG=false`` (like the generator, so its
encrypted fields read back) and ``LOWBAO_OTP_ENFORCED=false`` (the client is force-logged-in;
the second factor is not what is measured).

    .venv/bin/python bench/bench_lists.py [--persons 1000000] [--repeat 30]
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/lowbao_bench_recon"
PAGE1_TARGET_MS = 300
DEEP_RATIO_TARGET = 1.5
BENCH_PASSWORD = "Bench-Passw0rd-2026"  # noqa: S105 - bench accounts in the bench database


def setup_django() -> None:
    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lowbao.settings.local")
    os.environ.setdefault("DJANGO_DEBUG", "false")
    os.environ.setdefault("LOWBAO_OTP_ENFORCED", "false")
    import django

    django.setup()


def province_persons() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('bench_province_meta') IS NOT NULL")
        if not cursor.fetchone()[0]:
            return 0
        cursor.execute("SELECT persons FROM bench_province_meta")
        row = cursor.fetchone()
    return row[0] if row else 0


def ensure_province(persons: int) -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    if province_persons() == persons:
        print(f"province of {persons:,} persons already there", flush=True)
        return
    subprocess.run(
        [sys.executable, str(ROOT / "bench" / "province.py"), "--persons", str(persons)],
        check=True,
    )


def analyze_stale_tables() -> list[str]:
    """ANALYZE the tables whose statistics autovacuum would have refreshed by now: never analyzed,
    or more rows changed since the last ANALYZE than autovacuum's default threshold (50 + 10%).

    The bench server runs with autovacuum off (CI's configuration), so after ``reconcile`` wrote
    its ~94,000 items the planner still saw the item table as analyzed empty and chose a scan of
    every open item of the province per worklist tab; production's autovacuum analyzes it."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname FROM pg_stat_user_tables WHERE schemaname = 'public'"
            " AND (n_mod_since_analyze > 50 + 0.1 * n_live_tup"
            " OR (last_analyze IS NULL AND last_autoanalyze IS NULL AND n_live_tup > 0))"
            " ORDER BY relname"
        )
        tables = [row[0] for row in cursor.fetchall()]
        for table in tables:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")
    return tables


def bench_user(username: str, role: str, area) -> object:
    from lowbao.accounts.models import User
    from lowbao.accounts.services import user_create
    from lowbao.areas.services import role_assign

    user = User.objects.filter(username=username).first()
    if user is None:
        user = user_create(
            actor=None,
            username=username,
            password=BENCH_PASSWORD,
            display_name="压测用户",
            must_change_password=False,
        )
        role_assign(actor=None, user=user, role=role, area=area)
    return user


def biggest_areas() -> tuple[object, object]:
    """The county with most dibao households and its township with most."""
    from django.db.models import Count

    from cases.models import Household
    from lowbao.areas.models import Area

    county_id = (
        Household.objects.order_by()
        .values("county_id")
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()["county_id"]
    )
    township_id = (
        Household.objects.filter(county_id=county_id)
        .order_by()
        .values("area__parent_id")
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()["area__parent_id"]
    )
    return Area.objects.get(pk=county_id), Area.objects.get(pk=township_id)


def deep_key(queryset, ordering: tuple[str, ...], fraction: float = 0.9) -> str:
    """The keyset cursor of the row at ``fraction`` of the ordered list (JSON, as in links)."""
    from lowbao.core.paging import encode_key

    total = queryset.count()
    row = queryset.order_by(*ordering)[max(int(total * fraction) - 1, 0)]
    return encode_key(row, ordering)


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def time_page(client, url: str, params: dict, repeat: int) -> list[float]:
    samples = []
    client.get(url, params)  # warm caches (plan, session, assignments)
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(url, params)
        samples.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{url} {params} answered {response.status_code}")
    return samples


def query_count(client, url: str, params: dict) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params)
    if response.status_code != 200:
        raise SystemExit(f"{url} {params} answered {response.status_code}")
    return len(captured.captured_queries)


def list_cases(county, township) -> list[tuple[str, str, str, dict, object, tuple[str, ...]]]:
    """(label, role user key, url, base params, queryset for the deep cursor, ordering)."""
    from django.urls import reverse

    from cases.models import Household
    from cases.views.households import HOUSEHOLD_ORDERING
    from poverty.models import RegistryHousehold
    from review.models import ItemState, ReconciliationItem
    from review.views.worklist import ITEM_ORDERING

    households = reverse("cases:household_list")
    registry = reverse("poverty:registry_household_list")
    worklist = reverse("review:reconciliation_worklist")
    open_items = ReconciliationItem.objects.filter(state=ItemState.OPEN)
    return [
        (
            "households_county",
            "county",
            households,
            {},
            Household.objects.filter(county=county),
            HOUSEHOLD_ORDERING,
        ),
        (
            "households_township",
            "township",
            households,
            {},
            Household.objects.filter(area__parent=township),
            HOUSEHOLD_ORDERING,
        ),
        (
            "registry_county",
            "county",
            registry,
            {},
            RegistryHousehold.objects.filter(county=county, in_registry=True),
            ("county_id", "number", "id"),
        ),
        (
            "recon_items_county",
            "county",
            worklist,
            {},
            open_items.filter(county=county),
            ITEM_ORDERING,
        ),
        (
            "recon_items_region",
            "region",
            worklist,
            {},
            open_items,
            ITEM_ORDERING,
        ),
        (
            "recon_items_township",
            "township",
            worklist,
            {},
            open_items.filter(township=township),
            ITEM_ORDERING,
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--only", default="", help="run only the lists whose label contains this")
    args = parser.parse_args(argv)
    setup_django()
    from django.conf import settings
    from django.test import Client

    from lowbao.areas.roles import Role

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    ensure_province(args.persons)
    analyzed = analyze_stale_tables()
    if analyzed:
        print(f"analyzed (autovacuum is off here): {', '.join(analyzed)}", flush=True)
    county, township = biggest_areas()
    print(f"county {county.name} ({county.code}), township {township.name}", flush=True)
    clients = {}
    region = county.parent
    while region.parent_id is not None:
        region = region.parent
    for key, role, area in (
        ("region", Role.REGION_OFFICER, region),
        ("county", Role.COUNTY_CIVIL_AFFAIRS, county),
        ("township", Role.TOWNSHIP_CASEWORKER, township),
    ):
        client = Client()
        client.force_login(bench_user(f"bench_{key}_{area.code}", role, area))
        clients[key] = client
    failures = 0
    for label, who, url, params, queryset, ordering in list_cases(county, township):
        if args.only not in label:
            continue
        client = clients[who]
        rows = queryset.count()
        deep = {**params, "after": deep_key(queryset, ordering)}
        first = time_page(client, url, params, args.repeat)
        deeper = time_page(client, url, deep, args.repeat)
        q20 = query_count(client, url, {**params, "per_page": 20})
        q200 = query_count(client, url, {**params, "per_page": 200})
        first95, deep95 = p95(first), p95(deeper)
        ratio = deep95 / first95 if first95 else 0.0
        print(
            f"P6 {label} rows {rows:,} page1_median_ms {statistics.median(first):.0f} "
            f"deep_median_ms {statistics.median(deeper):.0f}"
        )
        print(f"P6 {label} page1_p95_ms {first95:.0f} (<= {PAGE1_TARGET_MS})")
        print(f"P6 {label} deep_p95_ms {deep95:.0f} (<= {PAGE1_TARGET_MS})")
        print(f"P6 {label} deep_vs_page1 {ratio:.2f} (<= {DEEP_RATIO_TARGET})")
        print(f"P6 {label} queries_20_vs_200 {q20}/{q200} (equal)", flush=True)
        failures += (first95 > PAGE1_TARGET_MS) + (ratio > DEEP_RATIO_TARGET) + (q20 != q200)
    print(f"P6 misses {failures}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
