"""P8: 100 concurrent users on loopback with locust (quality.md P8).

Against the bench province (``lowbao_bench_recon``, see ``bench/province.py``; at least 100,000
households — the 1,000,000-person province has about 245,000): creates bench accounts (the
caseworkers of the ``--townships`` biggest townships of the biggest county and the county's
civil-affairs officer), writes the locust plan, starts gunicorn on 127.0.0.1, runs
``bench/locustfile.py`` headless (80% reads, 20% writes, think time 5–15 s), parses the stats CSV
and prints the figures. Users start at 2 per second (50 s for 100: each login hashes a password,
~0.4 s of CPU here) and the statistics are reset once all are running, so the 5-minute
measurement (``--run-time`` 6m = ramp-up + 5 min and more) sees the steady state:

    P8 p95_ms N (< 300)
    P8 p99_ms N (< 1000)
    P8 errors N (0)

Settings of the served site: ``lowbao.settings.local`` with ``DJANGO_DEBUG=false`` (production-like:
no debug, templates cached, whitenoise) and the bench database; ``LOWBAO_OTP_ENFORCED=false``
(the bench accounts have no TOTP device) and a login throttle raised to 100000/min (100 users log
in from one loopback address) and ``CONN_MAX_AGE=60`` (persistent database connections, the
production default) — the production settings need deployment secrets and HTTPS.

    .venv/bin/python bench/bench_load.py [--users 100] [--spawn-rate 2] [--run-time 6m]
"""

import argparse
import csv
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.bench_lists import (  # noqa: E402
    BENCH_PASSWORD,
    DEFAULT_DATABASE_URL,
    analyze_stale_tables,
    bench_user,
    biggest_areas,
    setup_django,
)

OUT = ROOT / "bench" / "out"
SITE_ENV = {
    "DATABASE_URL": DEFAULT_DATABASE_URL,
    "DJANGO_SETTINGS_MODULE": "lowbao.settings.local",
    "DJANGO_DEBUG": "false",
    "LOWBAO_OTP_ENFORCED": "false",
    "LOWBAO_THROTTLE_LOGIN": "100000/min",
    # persistent database connections, as production serves (CONN_MAX_AGE defaults to 60 there)
    "CONN_MAX_AGE": "60",
}
MEANS_TEST_DATE = date(2026, 7, 1)
ITEMS_PER_ACCOUNT = 400
LOAD_NOTE = "压测：核实无误"  # the resolution note the locust writes use (bench/locustfile.py)


def id_number_in(county_code: str, serial: int) -> str:
    from lowbao.people.id_numbers import compute_check_char

    body = f"{county_code[:6]}19700101{serial % 1000:03d}"
    return body + compute_check_char(body)


def write_plan(townships: int) -> Path:
    from django.db.models import Count

    from cases.models import Household
    from lowbao.areas.models import Area, AreaLevel
    from lowbao.areas.roles import Role
    from review.models import ItemState, ReconciliationItem

    # items left resolved by an earlier run are opened again, so every run starts alike
    ReconciliationItem.objects.filter(resolution_note=LOAD_NOTE).update(
        state=ItemState.OPEN, resolution_note="", resolved_by=None, resolved_at=None
    )
    county, _ = biggest_areas()
    busiest = (
        Household.objects.filter(county=county)
        .order_by()
        .values("area__parent_id")
        .annotate(n=Count("id"))
        .order_by("-n")[:townships]
    )
    accounts = []
    for serial, row in enumerate(busiest, start=1):
        township = Area.objects.get(pk=row["area__parent_id"])
        user = bench_user(f"bench_load_{township.code}", Role.TOWNSHIP_CASEWORKER, township)
        households = list(
            Household.objects.filter(area__parent=township).values_list("pk", flat=True)[:200]
        )
        village = Area.objects.filter(parent=township, level=AreaLevel.VILLAGE).first()
        # open reconciliation items of the township: the writes resolve and reopen them (each
        # locust user works its own share, so two users never act on one item)
        items = list(
            ReconciliationItem.objects.filter(township=township, state=ItemState.OPEN)
            .order_by("pk")
            .values_list("pk", flat=True)[:ITEMS_PER_ACCOUNT]
        )
        accounts.append(
            {
                "username": user.username,
                "village": village.code,
                "households": households,
                "items": items,
                "id_number": id_number_in(county.code, serial),
            }
        )
    officer = bench_user(f"bench_load_{county.code}", Role.COUNTY_CIVIL_AFFAIRS, county)
    accounts.append(
        {
            "username": officer.username,
            "village": accounts[0]["village"],
            "households": [pk for account in accounts for pk in account["households"][:20]],
            "items": [],  # the county officer reads; townships resolve
            "id_number": id_number_in(county.code, 999),
        }
    )
    plan = {"password": BENCH_PASSWORD, "date": MEANS_TEST_DATE.isoformat(), "accounts": accounts}
    OUT.mkdir(exist_ok=True)
    path = OUT / "load_plan.json"
    path.write_text(json.dumps(plan, ensure_ascii=False), encoding="utf-8")
    return path


def wait_for(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - loopback, our own URL
                return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"gunicorn did not answer at {url}")


def aggregated(stats_csv: Path) -> dict[str, str]:
    with stats_csv.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["Name"] == "Aggregated":
                return row
    raise SystemExit(f"no Aggregated row in {stats_csv}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--spawn-rate", type=int, default=2)
    parser.add_argument("--run-time", default="6m")
    parser.add_argument("--townships", type=int, default=10)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args(argv)
    for key, value in SITE_ENV.items():
        os.environ.setdefault(key, value)
    setup_django()
    plan = write_plan(args.townships)
    analyzed = analyze_stale_tables()
    if analyzed:
        print(f"analyzed (autovacuum is off here): {', '.join(analyzed)}", flush=True)
    env = {**os.environ, **SITE_ENV, "LOWBAO_LOCUST_PLAN": str(plan)}
    host = f"http://127.0.0.1:{args.port}"
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "lowbao.wsgi:application",
            "--bind",
            f"127.0.0.1:{args.port}",
            "--workers",
            str(args.workers),
            "--worker-class",
            "gthread",
            "--threads",
            str(args.threads),
            "--timeout",
            "120",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        wait_for(f"{host}/accounts/login/")
        prefix = OUT / "load"
        subprocess.run(
            [
                str(Path(sys.executable).with_name("locust")),
                "-f",
                str(ROOT / "bench" / "locustfile.py"),
                "--headless",
                "--users",
                str(args.users),
                "--spawn-rate",
                str(args.spawn_rate),
                "--run-time",
                args.run_time,
                "--host",
                host,
                "--csv",
                str(prefix),
                "--only-summary",
                "--reset-stats",
                "--loglevel",
                "WARNING",
            ],
            cwd=ROOT,
            env=env,
            check=False,
        )
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    stats_csv = Path(f"{prefix}_stats.csv")
    with stats_csv.open(encoding="utf-8") as handle:
        for line in csv.DictReader(handle):
            if line["Name"] != "Aggregated":
                print(
                    f"# {line['Type']} {line['Name']}: {line['Request Count']} requests, "
                    f"median {line['50%']} ms, p95 {line['95%']} ms, {line['Failure Count']} failed"
                )
    row = aggregated(stats_csv)
    p95, p99 = float(row["95%"]), float(row["99%"])
    errors = int(row["Failure Count"])
    print(f"P8 requests {row['Request Count']} rps {float(row['Requests/s']):.1f}")
    print(f"P8 p95_ms {p95:.0f} (< 300)")
    print(f"P8 p99_ms {p99:.0f} (< 1000)")
    print(f"P8 errors {errors} (0)")
    return 0 if p95 < 300 and p99 < 1000 and errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
