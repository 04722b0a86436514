"""The global authorization net (quality.md S1): every URL × role × area relation.

The URL conf is walked with ``get_resolver()``; every pattern must have a row in ``matrix.ROWS``
(or an explicit exclusion with its reason) and every row must name an existing URL. Then each
relation is one test that requests every row and collects the mismatches, so a failure lists all
of them at once.
"""

from dataclasses import dataclass

import pytest
from django.apps import apps
from django.db.models import Max
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from cases.models import (
    Application,
    ChangeReport,
    Household,
    HouseholdMember,
    PaymentSheet,
    TemporaryAssistance,
)
from lowbao.areas.models import Area
from lowbao.areas.roles import ROLE_LEVELS, ROLE_PERMISSIONS, Role
from lowbao.audit.models import AuditEvent
from lowbao.exports.models import ExportJob
from lowbao.imports.models import ImportBatch
from poverty.models import (
    LabourSurvey,
    LabourSurveyItem,
    Official,
    OfficialRelative,
    Referral,
    RegistryHousehold,
)
from review.models import (
    ReconciliationItem,
    ReconciliationRun,
    ReviewItem,
    ReviewList,
    ReviewListSnapshot,
    SpotCheck,
    SpotCheckFinding,
)
from tests.fixtures.cases import member

from .matrix import (
    EXCLUDED_NAMES,
    EXCLUDED_NAMESPACES,
    EXCLUDED_PREFIXES,
    KINDS,
    LOGIN,
    PUBLIC,
    ROWS,
    Row,
)
from .matrix_objects import build_objects

MISSING_ID = "987654"
OWN, SIBLING, OTHER = "own", "sibling", "other"


def _walk(resolver: URLResolver, prefix: str = "", namespace: str = ""):
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            inner = entry.namespace or ""
            ns = f"{namespace}:{inner}" if namespace and inner else inner or namespace
            yield from _walk(entry, route, ns)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}:{entry.name}" if namespace else str(entry.name)
            yield name, route


def url_patterns() -> dict[str, str]:
    """Every URL name → route, minus the explicit exclusions."""
    found: dict[str, str] = {}
    for name, route in _walk(get_resolver()):
        if name.split(":")[0] in EXCLUDED_NAMESPACES or name in EXCLUDED_NAMES:
            continue
        if any(route.startswith(prefix) for prefix in EXCLUDED_PREFIXES):
            continue
        found[name] = route
    return found


def test_every_url_pattern_has_a_row():
    missing = sorted(
        f"{name} ({route})" for name, route in url_patterns().items() if name not in ROWS
    )
    assert missing == [], (
        f"URL patterns without a row in tests/lowbao/security/matrix.py: {missing}"
    )


def test_every_row_names_an_existing_url():
    patterns = url_patterns()
    assert sorted(set(ROWS) - set(patterns)) == []


def test_every_api_url_is_in_the_schema(client, make_user, login_client):
    schema = client.get("/api/schema/?format=json")
    assert schema.status_code == 200
    paths = set(schema.json()["paths"])
    api_routes = {
        "/" + route.replace("<int:", "{").replace("<str:", "{").replace(">", "}")
        for route in url_patterns().values()
        if route.startswith("api/v1/")
    }

    # drf-spectacular names the parameters after the view's kwargs: compare with names erased.
    def shape(path: str) -> str:
        import re

        return re.sub(r"\{[^}]+\}", "{}", path)

    assert {shape(p) for p in api_routes} - {shape(p) for p in paths} == set()


# --- the world ----------------------------------------------------------------------------------


@dataclass
class World:
    objects: dict[str, dict[str, str]]  # kind → relation → kwarg value
    users: dict[str, object]  # role → user in its own area
    no_role: object
    wrong_role: object  # holds only area.view and audit.view
    league: object
    county_code: str
    clients: dict[str, Client]

    def client_for(self, role: str) -> Client:
        """One logged-in client per role (each login writes an audit event)."""
        if role not in self.clients:
            self.clients[role] = _client(self.users[role])
        return self.clients[role]


def _first_id(queryset) -> str:
    found = queryset.order_by("pk").values_list("pk", flat=True).first()
    return str(found) if found is not None else MISSING_ID


@pytest.fixture
def world(areas, make_user, dashboard_world, new_application) -> World:
    t = {OWN: areas.township, SIBLING: areas.sibling_township, OTHER: areas.other_county_township}
    village = {OWN: areas.village, SIBLING: areas.other_township_village}
    village[OTHER] = areas.other_county_village

    def level_area(role: str) -> Area:
        level = ROLE_LEVELS[role][-1] if role != Role.VILLAGE_ASSISTANT else "township"
        return {
            "township": areas.township,
            "county": areas.county,
            "league": areas.league,
            "region": areas.region,
        }[level]

    users = {role: make_user(role=role, area=level_area(role)) for role in ROLE_LEVELS}
    filers = {
        OWN: users[Role.TOWNSHIP_CASEWORKER],
        SIBLING: make_user(role=Role.TOWNSHIP_CASEWORKER, area=areas.sibling_township),
        OTHER: make_user(role=Role.TOWNSHIP_CASEWORKER, area=areas.other_county_township),
    }
    applications = {
        rel: new_application(village=village[rel], by=filers[rel], members=[member(income="100")])
        for rel in (OWN, SIBLING, OTHER)
    }
    assert Application.objects.count() >= 3
    objects: dict[str, dict[str, str]] = {kind: {} for kind in KINDS}
    for rel in (OWN, SIBLING, OTHER):
        households = Household.objects.filter(area__parent=t[rel])
        objects["household"][rel] = _first_id(households)
        objects["application"][rel] = str(applications[rel].pk)
        objects["payment_sheet"][rel] = _first_id(PaymentSheet.objects.filter(township=t[rel]))
        objects["registry_household"][rel] = _first_id(
            RegistryHousehold.objects.filter(area__parent=t[rel])
        )
        person_id = (
            HouseholdMember.objects.filter(household__area__parent=t[rel])
            .order_by("pk")
            .values_list("person_id", flat=True)
            .first()
        )
        objects["person"][rel] = str(person_id or MISSING_ID)
        objects["campaign"][rel] = _first_id(
            apps.get_model("review", "ReviewCampaign").objects.filter(
                county=t[rel].parent, year=dashboard_world.year
            )
        )
        objects["review_list"][rel] = _first_id(ReviewList.objects.filter(township=t[rel]))
        objects["review_item"][rel] = _first_id(
            ReviewItem.objects.filter(review_list__township=t[rel])
        )
        objects["recon_run"][rel] = _first_id(
            ReconciliationRun.objects.filter(county=t[rel].parent)
        )
        objects["recon_item"][rel] = _first_id(ReconciliationItem.objects.filter(township=t[rel]))
        objects["area"][rel] = t[rel].code
        objects["village"][rel] = village[rel].code
        objects["user"][rel] = str(filers[rel].pk)
    built = build_objects(
        areas=areas,
        users=users,
        caseworkers=filers,
        make_user=make_user,
        year=dashboard_world.year,
    )
    for kind, by_relation in built.items():
        assert set(by_relation) == {OWN, SIBLING, OTHER}, kind
        objects[kind] = by_relation
    for api_kind, page_kind in (
        ("household_api", "household"),
        ("application_api", "application"),
        ("payment_sheet_api", "payment_sheet"),
        ("registry_household_api", "registry_household"),
        ("recon_run_api", "recon_run"),
        ("recon_item_api", "recon_item"),
    ):
        objects[api_kind] = objects[page_kind]
    for kind, by_relation in objects.items():
        for rel in (OWN, SIBLING, OTHER):
            by_relation.setdefault(rel, MISSING_ID)
        if by_relation[OWN] != MISSING_ID:
            assert by_relation[OTHER] != MISSING_ID, kind
    return World(
        objects=objects,
        users=users,
        no_role=make_user(),
        wrong_role=make_user(role=Role.AUDIT_ADMIN, area=areas.county),
        league=make_user(role=Role.LEAGUE_OFFICER, area=areas.league),
        county_code=areas.county.code,
        clients={},
    )


def _url(name: str, row: Row, world: World, relation: str) -> str:
    kwargs = dict(row.extra)
    if row.kind:
        kwarg, _level = KINDS[row.kind]
        kwargs[kwarg] = world.objects[row.kind][relation] if row.own_object else MISSING_ID
    url = reverse(name, kwargs=kwargs)
    if row.query:
        url += "?" + row.query.format(county=world.county_code)
    return url


def _is_api(name: str) -> bool:
    return ":" not in name


def _request(client: Client, row: Row, url: str):
    if row.method == "POST":
        return client.post(url, dict(row.data))
    return client.get(url)


def _client(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


# Rows counted around every refused request; the tables with ``updated_at`` also give their latest
# change, so a refused POST that changed a row in place is caught too (besides its audit event).
WATCHED_TABLES = [
    Household,
    Application,
    PaymentSheet,
    ReviewItem,
    ReconciliationItem,
    AuditEvent,
    ChangeReport,
    TemporaryAssistance,
    LabourSurvey,
    LabourSurveyItem,
    Referral,
    Official,
    OfficialRelative,
    ReviewListSnapshot,
    SpotCheck,
    SpotCheckFinding,
    ImportBatch,
    ExportJob,
]


def _key_counts() -> dict[str, object]:
    counts: dict[str, object] = {}
    for model in WATCHED_TABLES:
        counts[model.__name__] = model.objects.count()
        if any(field.name == "updated_at" for field in model._meta.concrete_fields):
            latest = model.objects.aggregate(latest=Max("updated_at"))["latest"]
            counts[f"{model.__name__}.updated_at"] = latest
    return counts


def _check(mismatches: list[str], name: str, who: str, response, expected: set[int]) -> None:
    if response.status_code not in expected:
        mismatches.append(f"{name} as {who}: {response.status_code}, expected {sorted(expected)}")


# --- the relations --------------------------------------------------------------------------------


def test_anonymous_is_sent_to_login(world, db):
    mismatches: list[str] = []
    client = _client(None)
    before = _key_counts()
    for name, row in ROWS.items():
        response = _request(client, row, _url(name, row, world, OWN))
        if row.perm == PUBLIC:
            _check(mismatches, name, "anonymous", response, {200})
        elif _is_api(name):
            _check(mismatches, name, "anonymous", response, {401, 403})
        else:
            _check(mismatches, name, "anonymous", response, {302})
            if response.status_code == 302 and "/accounts/login/" not in response["Location"]:
                mismatches.append(f"{name} as anonymous: redirect to {response['Location']}")
    assert not mismatches, "\n".join(mismatches)
    assert _key_counts() == before


def test_user_without_a_role_is_refused(world, db):
    mismatches: list[str] = []
    client = _client(world.no_role)
    for name, row in ROWS.items():
        if row.perm in (PUBLIC, LOGIN):
            continue
        before = _key_counts()
        response = _request(client, row, _url(name, row, world, OWN))
        _check(mismatches, name, "no role", response, {403})
        if row.method == "POST" and _key_counts() != before:
            mismatches.append(f"{name} as no role: a refused POST changed {before}")
    assert not mismatches, "\n".join(mismatches)


def test_role_without_the_capability_is_refused(world, db):
    mismatches: list[str] = []
    client = _client(world.wrong_role)
    held = ROLE_PERMISSIONS[Role.AUDIT_ADMIN]
    for name, row in ROWS.items():
        if row.perm in (PUBLIC, LOGIN) or row.perm in held:
            continue
        before = _key_counts()
        response = _request(client, row, _url(name, row, world, OWN))
        _check(mismatches, name, "audit admin", response, {403})
        if row.method == "POST" and _key_counts() != before:
            mismatches.append(f"{name} as audit admin: a refused POST changed the tables")
    assert not mismatches, "\n".join(mismatches)


def test_right_role_in_own_area_reads(world, db):
    mismatches: list[str] = []
    for name, row in ROWS.items():
        if row.method != "GET" or row.perm in (PUBLIC, LOGIN):
            continue
        response = _request(world.client_for(row.role), row, _url(name, row, world, OWN))
        _check(mismatches, name, f"{row.role} (own)", response, {row.ok if row.own_object else 404})
    assert not mismatches, "\n".join(mismatches)


@pytest.mark.parametrize("relation", [SIBLING, OTHER])
def test_same_role_elsewhere_gets_404(world, db, relation):
    mismatches: list[str] = []
    for name, row in ROWS.items():
        if not row.kind or not row.own_object or row.perm in (PUBLIC, LOGIN):
            continue
        role_level = ROLE_LEVELS[row.role][-1]
        if relation == SIBLING and (KINDS[row.kind][1] == "county" or role_level != "township"):
            continue  # a county-level object or role covers both townships of the county
        client = world.client_for(row.role)
        before = _key_counts()
        response = _request(client, row, _url(name, row, world, relation))
        _check(mismatches, name, f"{row.role} ({relation})", response, {404})
        if row.method == "POST" and _key_counts() != before:
            mismatches.append(f"{name} as {row.role} ({relation}): {before} → {_key_counts()}")
    assert not mismatches, "\n".join(mismatches)


def test_parent_level_reader_reads_but_does_not_write(world, db):
    mismatches: list[str] = []
    client = _client(world.league)
    held = ROLE_PERMISSIONS[Role.LEAGUE_OFFICER]
    for name, row in ROWS.items():
        if row.perm in (PUBLIC, LOGIN):
            continue
        url = _url(name, row, world, OWN)
        before = _key_counts()
        response = _request(client, row, url)
        if row.perm not in held:
            _check(mismatches, name, "league officer", response, {403})
        elif row.method == "GET":
            expected = row.ok if row.own_object and not row.owner_only else 404
            _check(mismatches, name, "league officer", response, {expected})
        if row.method == "POST" and response.status_code >= 400 and _key_counts() != before:
            mismatches.append(f"{name} as league officer: a refused POST changed the tables")
    assert not mismatches, "\n".join(mismatches)
