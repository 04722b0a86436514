"""The objects the authorization matrix builds beyond the dashboard world (quality.md S1).

``build_objects`` makes one object of each kind below in the own township (or county), the
sibling township and another county, through the project's services where one exists, and
returns ``kind → relation → URL kwarg value``:

- ``change``: a change report on a paid household (``change_report``);
- ``temporary``: a temporary-assistance application in the village (``temporary_apply``);
- ``registry_snapshot``: the county's registry snapshot of the dashboard world;
- ``review_snapshot``: the township's review list frozen as ``review_list_sign`` freezes it
  (``list_content``; signing itself needs the whole sign-off chain, which the matrix does not
  exercise);
- ``survey`` / ``survey_item``: a registry household with a member who lost labour capacity in
  each township's village, and a survey opened in each county (``survey_open`` lists them);
- ``referral``: a referral of that registry household to the poverty office (``referral_create``);
- ``official``: an official of the county (``official_add``);
- ``spot_check``: a spot check of the own league (``spot_check_draw`` over the dashboard world's
  filed review) and, as "another county", one of a league in a second region: the region officer
  covers every league of its region, so only another region lies outside it (no review is filed
  there, so that spot check is written directly, as the dashboard world writes its rows);
- ``import_batch``: an uploaded roster of the county (``import_batch_upload``);
- ``export_job``: a roster export requested by the township's caseworker (``export_job_request``;
  jobs belong to the user who asked for them).
"""

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from cases.choices import ChangeKind, LabourCapacity
from cases.models import Household
from cases.services.management import MANAGED_STATUSES, change_report
from cases.services.temporary import temporary_apply
from lowbao.areas.models import Area, AreaLevel
from lowbao.areas.roles import Role
from lowbao.areas.services import AreaRow, area_load_rows
from lowbao.exports.services import export_job_request
from lowbao.imports.jobs import import_batch_upload
from lowbao.imports.kinds import ImportOptions
from poverty.choices import OfficialKind, ReferralDirection
from poverty.models import RegistryMember, RegistrySnapshot
from poverty.services.officials import official_add
from poverty.services.referrals import referral_create
from poverty.services.survey import survey_open
from review.models import ReviewList, ReviewListSnapshot, SignOffScope, SpotCheck
from review.services.campaign_signoff import list_content
from review.services.campaign_spotcheck import spot_check_draw
from tests.fixtures.dashboard import registry_of
from tests.lowbao.imports.test_import_ledger_command import ROSTER_HEADERS, two_households
from tests.lowbao.imports.test_upload_pages import xlsx_bytes
from tests.lowbao.people.factories import PersonFactory, make_id_number

OWN, SIBLING, OTHER = "own", "sibling", "other"
RELATIONS = (OWN, SIBLING, OTHER)
OTHER_REGION = AreaRow("140000000000", "山西省", AreaLevel.REGION, "")
OTHER_REGION_LEAGUE = AreaRow("140100000000", "太原市", AreaLevel.LEAGUE, "140000000000")


def build_objects(
    *,
    areas: Any,
    users: dict[str, Any],
    caseworkers: dict[str, Any],
    make_user: Callable[..., Any],
    year: int,
) -> dict[str, dict[str, str]]:
    """``users``: role → user on the own area; ``caseworkers``: relation → the township's
    caseworker; ``year``: the dashboard world's review year."""
    today = timezone.localdate()
    township = {OWN: areas.township, SIBLING: areas.sibling_township}
    township[OTHER] = areas.other_county_township
    village = {OWN: areas.village, SIBLING: areas.other_township_village}
    village[OTHER] = areas.other_county_village
    county = {OWN: areas.county, SIBLING: areas.county, OTHER: areas.sibling_county}
    caseworker = caseworkers

    def county_role(role: str) -> dict[str, Any]:
        other = make_user(role=role, area=areas.sibling_county)
        return {OWN: users[role], SIBLING: users[role], OTHER: other}

    civil_affairs = county_role(Role.COUNTY_CIVIL_AFFAIRS)
    poverty_office = county_role(Role.COUNTY_POVERTY_OFFICE)
    data_admin = county_role(Role.DATA_ADMIN)
    objects: dict[str, dict[str, str]] = {}

    def add(kind: str, relation: str, pk: object) -> None:
        objects.setdefault(kind, {})[relation] = str(pk)

    registry_households = {}
    for rel in RELATIONS:
        household = (
            Household.objects.filter(area__parent=township[rel], status__in=MANAGED_STATUSES)
            .order_by("pk")
            .first()
        )
        change = change_report(
            actor=caseworker[rel],
            household=household,
            kind=ChangeKind.OTHER,
            description="矩阵测试：家庭收入变化",
            reported_on=today,
        )
        add("change", rel, change.pk)
        assistance = temporary_apply(
            actor=caseworker[rel],
            area=village[rel],
            person_id_number=make_id_number(),
            name="乌日娜",
            kind="emergency",
            reason="住房失火",
            household_size=3,
            per_capita_income_monthly=None,
            amount=Decimal("1500"),
        )
        add("temporary", rel, assistance.pk)
        registry_household = registry_of(village[rel], [PersonFactory(), PersonFactory()])
        RegistryMember.objects.filter(household=registry_household).update(
            labour_capacity=LabourCapacity.LOST
        )
        registry_households[rel] = registry_household
        referral = referral_create(
            actor=caseworker[rel],
            direction=ReferralDirection.TO_POVERTY_OFFICE,
            reason="矩阵测试：家庭成员丧失劳动能力",
            registry_household=registry_household,
        )
        add("referral", rel, referral.pk)
        review_list = ReviewList.objects.get(campaign__year=year, township=township[rel])
        content = list_content(review_list.campaign, review_list)
        snapshot = ReviewListSnapshot.objects.create(
            campaign=review_list.campaign,
            review_list=review_list,
            scope=SignOffScope.TOWNSHIP,
            round=review_list.round,
            title=content.title,
            header=content.header,
            rows=content.rows,
            row_count=len(content.rows),
            content_sha256=content.sha256,
            created_at=timezone.now(),
        )
        add("review_snapshot", rel, snapshot.pk)
        official = official_add(
            actor=civil_affairs[rel],
            county=county[rel],
            area=township[rel],
            id_number=make_id_number(),
            name="矩阵干部",
            kind=OfficialKind.CIVIL_AFFAIRS_STAFF,
            position="民政专干",
        )
        add("official", rel, official.pk)

    for rel in (OWN, OTHER):
        snapshot = RegistrySnapshot.objects.filter(county=county[rel]).order_by("pk").first()
        add("registry_snapshot", rel, snapshot.pk)
        survey = survey_open(
            actor=poverty_office[rel],
            county=county[rel],
            title="矩阵测试劳动力摸底",
            deadline=today + timedelta(days=30),
        )
        add("survey", rel, survey.pk)
        roster = xlsx_bytes(ROSTER_HEADERS, two_households())
        batch = import_batch_upload(
            actor=data_admin[rel],
            kind="dibao",
            upload=SimpleUploadedFile("roster.xlsx", roster),
            county=county[rel],
            options=ImportOptions(),
        )
        add("import_batch", rel, batch.pk)
        job = export_job_request(
            actor=caseworker[rel], kind="dibao", county=county[rel], filters={}
        )
        add("export_job", rel, job.pk)
    for rel in RELATIONS:
        add("survey_item", rel, registry_households[rel].survey_items.get().pk)
    for kind in ("registry_snapshot", "survey", "import_batch", "export_job"):
        objects[kind][SIBLING] = objects[kind][OWN]  # county-level: shared by both townships

    region_officer = users[Role.REGION_OFFICER]
    own_check = spot_check_draw(actor=region_officer, league=areas.league, year=year, sample_size=1)
    area_load_rows(actor=None, rows=[OTHER_REGION, OTHER_REGION_LEAGUE], source="tests")
    other_check = SpotCheck.objects.create(
        league=Area.objects.get(code=OTHER_REGION_LEAGUE.code),
        year=year,
        seed="matrix",
        sample_size=0,
        population_size=0,
        sampled_item_ids=[],
        drawn_by=region_officer,
    )
    objects["spot_check"] = {OWN: str(own_check.pk), SIBLING: str(own_check.pk)}
    objects["spot_check"][OTHER] = str(other_check.pk)
    return objects
