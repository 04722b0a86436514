"""P8 load scenario (quality.md P8): staff of several roles working at the same time.

Each simulated user logs in (the login form, with CSRF) as one of the bench accounts listed in the
plan written by ``bench/bench_load.py`` (``LOWBAO_LOCUST_PLAN``), then works with a think time of
5–15 s between requests (a caseworker reads a page or fills in a form before the next click; 100
such users send about 10 requests per second):

- 80% reads: household list (page 1 and the next page by its keyset link), a household detail,
  the registry list, the reconciliation worklist, the households API list, means-test trial
  calculations (``POST /api/v1/means-test/``, computed, nothing stored);
- 20% writes: resolving a reconciliation item of the township (核实无误, with a note) and opening
  it again — each an audited change (item, history event, audit chain). Every user works its own
  share of the township's open items, so no two users act on one item.

Run by ``bench/bench_load.py``; by hand: ``locust -f bench/locustfile.py --host http://127.0.0.1:8765``.
"""

import itertools
import json
import os
import random
import re

from locust import HttpUser, between, task

PLAN = json.loads(open(os.environ["LOWBAO_LOCUST_PLAN"], encoding="utf-8").read())  # noqa: SIM115
_accounts = itertools.cycle(PLAN["accounts"])
_slots: dict[str, itertools.count] = {}
SLOTS = 16  # users per account that get items of their own (100 users over ~11 accounts)
LOAD_NOTE = "压测：核实无误"  # bench_load.py opens items left with this note again
NEXT_LINK = re.compile(r'href="\?([^"]*after=[^"]*)" rel="next"')


class StaffUser(HttpUser):
    wait_time = between(5, 15)

    def on_start(self) -> None:
        self.account = next(_accounts)
        slot = next(_slots.setdefault(self.account["username"], itertools.count())) % SLOTS
        self.items = dict.fromkeys(self.account["items"][slot::SLOTS], False)
        self.client.get("/accounts/login/", name="login form")
        token = self.client.cookies.get("csrftoken", "")
        with self.client.post(
            "/accounts/login/",
            data={
                "username": self.account["username"],
                "password": PLAN["password"],
                "csrfmiddlewaretoken": token,
            },
            headers={"Referer": self.host + "/accounts/login/"},
            name="login",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code != 302:
                response.failure(f"login answered {response.status_code}")

    def _csrf(self) -> dict[str, str]:
        return {
            "X-CSRFToken": self.client.cookies.get("csrftoken", ""),
            "Referer": self.host + "/",
        }

    # --- reads (weights sum to 16 of 20) ---------------------------------------------------

    @task(4)
    def household_list(self) -> None:
        response = self.client.get("/cases/households/", name="/cases/households/")
        match = NEXT_LINK.search(response.text or "")
        if match:
            query = match.group(1).replace("&amp;", "&")
            self.client.get(f"/cases/households/?{query}", name="/cases/households/?after=…")

    @task(3)
    def household_detail(self) -> None:
        household_id = random.choice(self.account["households"])
        self.client.get(f"/cases/households/{household_id}/", name="/cases/households/<id>/")

    @task(3)
    def registry_list(self) -> None:
        self.client.get("/poverty/registry/", name="/poverty/registry/")

    @task(2)
    def worklist(self) -> None:
        self.client.get("/review/reconciliation/worklist/", name="/review/reconciliation/worklist/")

    @task(2)
    def households_api(self) -> None:
        self.client.get("/api/v1/households/", name="/api/v1/households/")

    @task(2)
    def means_test(self) -> None:
        body = {
            "area": self.account["village"],
            "date": PLAN["date"],
            "coverage": "household",
            "members": [
                {
                    "id_number": self.account["id_number"],
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
        self.client.post(
            "/api/v1/means-test/",
            json=body,
            headers=self._csrf(),
            name="POST /api/v1/means-test/",
        )

    # --- writes (4 of 20) -------------------------------------------------------------------

    @task(4)
    def resolve_or_reopen(self) -> None:
        if not self.items:  # the county officer reads only
            self.household_list()
            return
        item_id = random.choice(list(self.items))
        resolved = self.items[item_id]
        if resolved:
            url, data, name = (
                f"/review/reconciliation/items/{item_id}/reopen/",
                {"reopen-note": "压测：重新打开"},
                "POST /review/reconciliation/items/<id>/reopen/",
            )
        else:
            url, data, name = (
                f"/review/reconciliation/items/{item_id}/resolve/",
                {"state": "verified", "note": LOAD_NOTE},
                "POST /review/reconciliation/items/<id>/resolve/",
            )
        data["csrfmiddlewaretoken"] = self.client.cookies.get("csrftoken", "")
        with self.client.post(
            url,
            data=data,
            headers={"Referer": self.host + url},
            name=name,
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code == 302:
                self.items[item_id] = not resolved
            else:
                response.failure(f"{name} answered {response.status_code}")
