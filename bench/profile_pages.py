"""Server time per endpoint of the P8 mix, in-process (no gunicorn, no locust).

Logs in the bench accounts of ``bench/bench_load.py`` (its plan: the caseworkers of the biggest
townships of the biggest county and the county's civil-affairs officer) with Django's test client
on the bench database, with the settings the load test serves (``SITE_ENV`` of bench_load), and
times ``--repeat`` requests of each endpoint of ``bench/locustfile.py``, the accounts taking
turns. Prints, per endpoint, the mean and p95 wall time, the mean CPU time of this process and
the queries of one request; ``--profile NAME`` also runs cProfile over that endpoint's requests
and prints the top functions (``--sort tottime`` or ``cumulative``):

    endpoint                       mean_ms  p95_ms  cpu_ms  queries
    households                        41.2    52.0    35.1       7

The mix weights (``locustfile.py``) give the weighted mean CPU per request, the figure that
decides how many requests per second the two cores serve.

    .venv/bin/python bench/profile_pages.py [--repeat 30] [--only households] [--profile worklist]
"""

import argparse
import cProfile
import io
import json
import os
import pstats
import random
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.bench_load import LOAD_NOTE, OUT, SITE_ENV  # noqa: E402

NEXT_LINK = re.compile(r'href="\?([^"]*after=[^"]*)" rel="next"')
# locustfile.py task weights; the household list task also follows the next-page link, and a
# resolve/reopen task is one POST (resolve and reopen alternate).
MIX = {
    "households": 4 + 4 * 0.1,  # the county officer's write task reads the list instead
    "households_next": 4 + 4 * 0.1,
    "household_detail": 3,
    "registry": 3,
    "worklist": 2,
    "api_households": 2,
    "means_test": 2,
    "resolve": 2 * 0.9,
    "reopen": 2 * 0.9,
}


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


class Account:
    def __init__(self, entry: dict, client: object) -> None:
        self.entry = entry
        self.client = client
        self.items = list(entry["items"])
        self.next_query = ""


def endpoint_request(name: str, account: Account, plan: dict) -> object:
    """One request of the locust task ``name`` for ``account``; returns the response."""
    client, entry = account.client, account.entry
    if name == "households":
        response = client.get("/cases/households/")
        match = NEXT_LINK.search(response.content.decode())
        account.next_query = match.group(1).replace("&amp;", "&") if match else ""
        return response
    if name == "households_next":
        if not account.next_query:
            endpoint_request("households", account, plan)
        return client.get(f"/cases/households/?{account.next_query}")
    if name == "household_detail":
        return client.get(f"/cases/households/{random.choice(entry['households'])}/")
    if name == "registry":
        return client.get("/poverty/registry/")
    if name == "worklist":
        return client.get("/review/reconciliation/worklist/")
    if name == "api_households":
        return client.get("/api/v1/households/")
    if name == "means_test":
        body = {
            "area": entry["village"],
            "date": plan["date"],
            "coverage": "household",
            "members": [
                {
                    "id_number": entry["id_number"],
                    "relation": "户主",
                    "counted": True,
                    "income_monthly": random.choice([0, 120.0, 320.0, 800.0]),
                    "labor_capacity": "丧失劳动力",
                    "health": "健康",
                    "in_school": False,
                }
            ],
            "assets": {"deposits": 0, "vehicles": 0, "houses": 1, "business_registered": False},
        }
        return client.post("/api/v1/means-test/", body, content_type="application/json")
    if name == "resolve":
        return client.post(
            f"/review/reconciliation/items/{account.items[0]}/resolve/",
            {"state": "verified", "note": LOAD_NOTE},
        )
    if name == "reopen":
        return client.post(
            f"/review/reconciliation/items/{account.items[0]}/reopen/",
            {"reopen-note": "压测：重新打开"},
        )
    raise ValueError(name)


PAIRED = ("resolve", "reopen")


TICK_MS = 1000 / os.sysconf("SC_CLK_TCK")


def backend_cpu_ms(pid: int) -> float:
    """CPU time (user + system) of a PostgreSQL backend on this machine, from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) * TICK_MS


def run_endpoint(
    name: str,
    accounts: list[Account],
    plan: dict,
    repeat: int,
    profiler: object,
    *,
    fresh_connections: bool = False,
    show_sql: int = 0,
) -> dict:
    from django.db import connection

    eligible = [a for a in accounts if a.items] if name in PAIRED else accounts

    def one(account: Account, *, timed: bool) -> object:
        """The request of ``name``; a resolve is undone (and a reopen prepared) untimed."""
        if name == "reopen":
            endpoint_request("resolve", account, plan)
        if fresh_connections:  # as served with CONN_MAX_AGE = 0: a new connection per request
            connection.close()
        if timed and profiler is not None:
            profiler.enable()
        db_started = backend_cpu_ms(backend) if backend else 0.0
        started, cpu_started = time.perf_counter(), time.process_time()
        response = endpoint_request(name, account, plan)
        cpu = (time.process_time() - cpu_started) * 1000
        wall = (time.perf_counter() - started) * 1000
        if backend:
            db_cpu = backend_cpu_ms(backend) - db_started
        elif fresh_connections and connection.connection is not None:
            # a backend of its own: all its CPU time (start-up, catalog caches, the queries)
            db_cpu = backend_cpu_ms(connection.connection.info.backend_pid)
        else:
            db_cpu = 0.0
        if timed and profiler is not None:
            profiler.disable()
        if name == "resolve":
            endpoint_request("reopen", account, plan)
        if name in PAIRED:
            account.items.append(account.items.pop(0))  # the next item next time
        expected = 302 if name in PAIRED else 200
        if response.status_code != expected:
            raise SystemExit(f"{name} answered {response.status_code}, not {expected}")
        if timed:
            walls.append(wall)
            cpus.append(cpu)
            db_cpus.append(db_cpu)
        return response

    walls: list[float] = []
    cpus: list[float] = []
    db_cpus: list[float] = []
    backend = 0
    if not fresh_connections:  # one backend all along: its CPU time is the database's share
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backend = cursor.fetchone()[0]
    for account in eligible:  # warm: first request of each account (plans, caches)
        one(account, timed=False)
    for index in range(repeat):
        one(eligible[index % len(eligible)], timed=True)
    account = eligible[0]
    if name == "reopen":
        endpoint_request("resolve", account, plan)
    executed: list[str] = []

    def count(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            executed.append(f"{(time.perf_counter() - started) * 1000:7.1f} ms  {sql[:show_sql]}")

    with connection.execute_wrapper(count):
        endpoint_request(name, account, plan)
    if name == "resolve":
        endpoint_request("reopen", account, plan)
    if show_sql:
        print("\n".join(executed))
    return {
        "mean_ms": sum(walls) / len(walls),
        "p95_ms": p95(walls),
        "cpu_ms": sum(cpus) / len(cpus),
        "db_cpu_ms": sum(db_cpus) / len(db_cpus),
        "queries": len(executed),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--only", default="", help="comma-separated endpoint names")
    parser.add_argument("--profile", default="", help="cProfile this endpoint")
    parser.add_argument("--sort", default="tottime", choices=("tottime", "cumulative"))
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--townships", type=int, default=10)
    parser.add_argument("--accounts", type=int, default=4, help="accounts taking turns")
    parser.add_argument("--reuse-plan", action="store_true", help="use bench/out/load_plan.json")
    parser.add_argument("--sql", type=int, default=0, help="print the queries (N chars each)")
    parser.add_argument("--json", default="", help="also write the figures to this file")
    parser.add_argument(
        "--conn-max-age",
        type=int,
        default=int(SITE_ENV.get("CONN_MAX_AGE", "0")),
        help="0: a new database connection per request (as the served site without it)",
    )
    args = parser.parse_args(argv)
    for key, value in SITE_ENV.items():
        os.environ.setdefault(key, value)
    from bench.bench_lists import analyze_stale_tables, setup_django

    setup_django()
    from django.conf import settings
    from django.test import Client

    from bench.bench_load import write_plan
    from lowbao.accounts.models import User

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    plan_path = OUT / "load_plan.json"
    if not (args.reuse_plan and plan_path.exists()):
        plan_path = write_plan(args.townships)
    plan = json.loads(plan_path.read_text(encoding="utf-8"))
    analyzed = analyze_stale_tables()
    if analyzed:
        print(f"analyzed (autovacuum is off here): {', '.join(analyzed)}", flush=True)
    random.seed(7)
    # township caseworkers first (they resolve items), and the county officer
    entries = [e for e in plan["accounts"] if e["items"]][: max(args.accounts - 1, 1)]
    entries += [e for e in plan["accounts"] if not e["items"]]
    accounts = []
    for entry in entries:
        client = Client()
        client.force_login(User.objects.get(username=entry["username"]))
        accounts.append(Account(entry, client))
    names = [n.strip() for n in args.only.split(",") if n.strip()] or list(MIX)
    print(
        f"{'endpoint':<20} {'mean_ms':>8} {'p95_ms':>8} {'cpu_ms':>8} {'db_cpu':>8} {'queries':>8}",
        flush=True,
    )
    results = {}
    profiler = None
    for name in names:
        profiler = cProfile.Profile() if name == args.profile else None
        figures = run_endpoint(
            name,
            accounts,
            plan,
            args.repeat,
            profiler,
            fresh_connections=args.conn_max_age == 0,
            show_sql=args.sql,
        )
        results[name] = figures
        print(
            f"{name:<20} {figures['mean_ms']:8.1f} {figures['p95_ms']:8.1f} "
            f"{figures['cpu_ms']:8.1f} {figures['db_cpu_ms']:8.1f} {figures['queries']:8d}",
            flush=True,
        )
        if profiler is not None:
            out = io.StringIO()
            stats = pstats.Stats(profiler, stream=out)
            stats.sort_stats(args.sort).print_stats(args.top)
            print(out.getvalue())
    measured = {n: MIX[n] for n in results if n in MIX}
    if measured:
        weight = sum(measured.values())
        for key in ("mean_ms", "cpu_ms", "db_cpu_ms"):
            mixed = sum(results[n][key] * w for n, w in measured.items()) / weight
            print(f"mix weighted {key} {mixed:.1f}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
