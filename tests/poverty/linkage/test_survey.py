"""The labour-capacity survey (摸底): which households it lists, assessments, applications
started from it, progress against the deadline and the county report."""

import io
from datetime import date, timedelta

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from cases.choices import ApplicationStatus, HouseholdStatus, LabourCapacity, Programme, Relation
from cases.models import Application, Household, HouseholdMember
from cases.services.households import MemberData
from lowbao.audit.models import AuditEvent
from lowbao.core.errors import DomainError
from poverty.choices import PovertyStatus, ReferralDirection, ReferralStatus, SurveyOutcome
from poverty.linkage_selectors import survey_progress
from poverty.models import LabourSurveyItem, Referral
from poverty.services.survey import (
    SURVEY_ITEM_HEADERS,
    SURVEY_PROGRESS_HEADERS,
    export_survey_xlsx,
    survey_assess,
    survey_open,
    survey_start_application,
)
from tests.poverty.linkage.conftest import RegistryPerson, registry_persons

pytestmark = pytest.mark.django_db

L = LabourCapacity


def _open(areas, users, **extra):
    return survey_open(
        actor=extra.pop("actor", users.civil_affairs),
        county=extra.pop("county", areas.county),
        title=extra.pop("title", "2026年摸底"),
        deadline=extra.pop("deadline", timezone.localdate() + timedelta(days=10)),
        **extra,
    )


def _item(survey, registry_household) -> LabourSurveyItem:
    return LabourSurveyItem.objects.get(survey=survey, registry_household=registry_household)


# --- which households are listed --------------------------------------------------------------


def _lost_head(make_registry, make_paid, areas):
    return make_registry(members=[RegistryPerson(labour_capacity=L.LOST)])


def _weak_spouse(make_registry, make_paid, areas):
    return make_registry(
        members=[
            RegistryPerson(labour_capacity=L.ORDINARY),
            RegistryPerson(relation=Relation.SPOUSE, labour_capacity=L.WEAK),
        ]
    )


def _no_labour(make_registry, make_paid, areas):
    return make_registry(members=[RegistryPerson(labour_capacity=L.NONE)])


def _out_of_poverty_but_in_registry(make_registry, make_paid, areas):
    return make_registry(poverty_status=PovertyStatus.OUT)


def _member_of_a_stopped_household(make_registry, make_paid, areas):
    household = make_registry()
    make_paid(persons=registry_persons(household), status=HouseholdStatus.STOPPED)
    return household


def _only_able_bodied(make_registry, make_paid, areas):
    return make_registry(
        members=[
            RegistryPerson(labour_capacity=L.ORDINARY),
            RegistryPerson(relation=Relation.SPOUSE, labour_capacity=L.SKILLED),
            RegistryPerson(relation=Relation.SON, labour_capacity=""),
        ]
    )


def _left_the_registry(make_registry, make_paid, areas):
    return make_registry(in_registry=False)


def _member_in_payment(make_registry, make_paid, areas):
    household = make_registry(
        members=[
            RegistryPerson(labour_capacity=L.LOST),
            RegistryPerson(relation=Relation.SPOUSE, labour_capacity=L.ORDINARY),
        ]
    )
    make_paid(persons=[registry_persons(household)[1]])  # the spouse is paid elsewhere
    return household


def _member_in_gradual_exit(make_registry, make_paid, areas):
    household = make_registry()
    make_paid(persons=registry_persons(household), status=HouseholdStatus.GRADUAL_EXIT)
    return household


def _other_county(make_registry, make_paid, areas):
    return make_registry(village=areas.other_county_village)


@pytest.mark.parametrize(
    ("_case", "build", "listed"),
    [
        ("head lost labour", _lost_head, True),
        ("spouse weak labour", _weak_spouse, True),
        ("no labour", _no_labour, True),
        ("out of poverty, still in the registry", _out_of_poverty_but_in_registry, True),
        ("member of a stopped household", _member_of_a_stopped_household, True),
        ("only ordinary/skilled/blank labour", _only_able_bodied, False),
        ("left the registry", _left_the_registry, False),
        ("a member in payment", _member_in_payment, False),
        ("a member in gradual exit (still paid)", _member_in_gradual_exit, False),
        ("another county", _other_county, False),
    ],
)
def test_survey_lists_registry_households_with_lost_labour_and_nobody_in_payment(
    _case, build, listed, make_registry, make_paid, areas, case_users
):
    household = build(make_registry, make_paid, areas)

    survey = _open(areas, case_users)

    items = list(survey.items.values_list("registry_household_id", "area_id", "outcome"))
    expected = [(household.pk, household.area_id, SurveyOutcome.PENDING)] if listed else []
    assert items == expected


def test_opening_a_survey_is_audited_with_its_item_count(make_registry, areas, case_users):
    make_registry()
    make_registry()

    survey = _open(areas, case_users, actor=case_users.poverty_office)

    event = AuditEvent.objects.get(action="survey.open", object_id=str(survey.pk))
    assert (event.changes["items"], event.area_code) == (2, areas.county.code)
    assert survey.opened_by == case_users.poverty_office


@pytest.mark.parametrize(
    ("_case", "user", "code"),
    [
        ("township caseworker", "caseworker", "not_found"),
        ("another county", "other_county_civil_affairs", "not_found"),
        ("county leader may see but not open", "county_leader", "permission_denied"),
    ],
)
def test_only_county_civil_affairs_or_poverty_office_open_a_survey(
    _case, user, code, areas, case_users
):
    with pytest.raises(DomainError) as refused:
        _open(areas, case_users, actor=getattr(case_users, user))

    assert refused.value.code == code
    assert not LabourSurveyItem.objects.exists()


@pytest.mark.parametrize(
    ("_case", "changes", "field"),
    [
        ("deadline in the past", {"deadline": date(2020, 1, 1)}, "deadline"),
        ("empty title", {"title": "  "}, "title"),
    ],
)
def test_survey_open_refuses_incomplete_input(_case, changes, field, areas, case_users):
    with pytest.raises(DomainError) as refused:
        _open(areas, case_users, **changes)

    assert field in refused.value.fields


def test_survey_is_opened_for_a_county_only(areas, case_users):
    with pytest.raises(DomainError) as refused:
        _open(areas, case_users, county=areas.township)

    assert refused.value.message == "摸底以旗县为单位，请选择旗县"


# --- assessments ------------------------------------------------------------------------------


@pytest.fixture
def surveyed(make_registry, areas, case_users):
    """A survey with one household in the caseworker's village."""
    household = make_registry(
        members=[
            RegistryPerson(labour_capacity=L.LOST, name="王大"),
            RegistryPerson(relation=Relation.SPOUSE, labour_capacity=L.WEAK, name="李二"),
        ]
    )
    survey = _open(areas, case_users)
    return survey, _item(survey, household)


def test_not_eligible_needs_a_reason(surveyed, case_users):
    _survey, item = surveyed

    with pytest.raises(DomainError) as refused:
        survey_assess(actor=case_users.caseworker, item_id=item.pk, outcome="not_eligible")

    assert refused.value.code == "reason_missing"
    item.refresh_from_db()
    assert item.outcome == SurveyOutcome.PENDING
    assert not Referral.objects.exists()


def test_not_eligible_refers_the_household_to_the_poverty_office_once(surveyed, case_users):
    _survey, item = surveyed

    for _ in range(2):
        survey_assess(
            actor=case_users.caseworker,
            item_id=item.pk,
            outcome="not_eligible",
            reason="有稳定务工收入",
            today=date(2026, 11, 20),
        )

    item.refresh_from_db()
    assert (item.outcome, item.reason, item.assessed_on, item.assessed_by) == (
        SurveyOutcome.NOT_ELIGIBLE,
        "有稳定务工收入",
        date(2026, 11, 20),
        case_users.caseworker,
    )
    assert list(
        Referral.objects.values_list(
            "direction", "registry_household_id", "household_id", "status", "reason", "area_id"
        )
    ) == [
        (
            ReferralDirection.TO_POVERTY_OFFICE,
            item.registry_household_id,
            None,
            ReferralStatus.PENDING,
            "摸底不符合低保/特困条件：有稳定务工收入",
            item.area_id,
        )
    ]
    assert AuditEvent.objects.filter(action="survey.assess", object_id=str(item.pk)).count() == 1


def test_already_covered_is_refused_without_a_member_in_payment(surveyed, case_users):
    _survey, item = surveyed

    with pytest.raises(DomainError) as refused:
        survey_assess(
            actor=case_users.village_assistant, item_id=item.pk, outcome="already_covered"
        )

    assert refused.value.code == "not_in_payment"
    item.refresh_from_db()
    assert item.outcome == SurveyOutcome.PENDING


def test_already_covered_once_a_member_is_in_payment(surveyed, make_paid, case_users):
    _survey, item = surveyed
    make_paid(persons=registry_persons(item.registry_household)[:1])

    item = survey_assess(
        actor=case_users.village_assistant, item_id=item.pk, outcome="already_covered"
    )

    assert item.outcome == SurveyOutcome.ALREADY_COVERED


def test_an_assessment_may_be_corrected_until_an_application_is_started(
    surveyed, make_paid, case_users
):
    _survey, item = surveyed
    survey_assess(actor=case_users.caseworker, item_id=item.pk, outcome="not_eligible", reason="x")
    make_paid(persons=registry_persons(item.registry_household)[:1])

    item = survey_assess(actor=case_users.caseworker, item_id=item.pk, outcome="already_covered")

    assert (item.outcome, item.reason) == (SurveyOutcome.ALREADY_COVERED, "")


def test_application_started_needs_an_application_of_the_same_family(
    surveyed, new_application, case_users
):
    _survey, item = surveyed
    unrelated = new_application()

    with pytest.raises(DomainError) as missing:
        survey_assess(actor=case_users.caseworker, item_id=item.pk, outcome="application_started")
    with pytest.raises(DomainError) as unrelated_refused:
        survey_assess(
            actor=case_users.caseworker,
            item_id=item.pk,
            outcome="application_started",
            application=unrelated,
        )

    assert missing.value.code == "invalid"
    assert unrelated_refused.value.message == "该申请的家庭成员与建档立卡户不符"


def test_application_started_links_an_existing_application_and_is_final(
    surveyed, new_application, case_users
):
    _survey, item = surveyed
    head = registry_persons(item.registry_household)[0]
    application = new_application(
        members=[MemberData(id_number=head.id_number, name=head.name, relation=Relation.HEAD)]
    )

    item = survey_assess(
        actor=case_users.caseworker,
        item_id=item.pk,
        outcome="application_started",
        application=application,
    )
    with pytest.raises(DomainError) as final:
        survey_assess(
            actor=case_users.caseworker, item_id=item.pk, outcome="not_eligible", reason="x"
        )

    assert (item.outcome, item.application_id) == (
        SurveyOutcome.APPLICATION_STARTED,
        application.pk,
    )
    assert final.value.code == "survey_item_state"


@pytest.mark.parametrize(
    ("_case", "user", "code"),
    [
        ("sibling township", "sibling_caseworker", "not_found"),
        ("another county", "other_county_civil_affairs", "not_found"),
        ("county civil affairs may see but not assess", "civil_affairs", "permission_denied"),
        ("poverty office may see but not assess", "poverty_office", "permission_denied"),
    ],
)
def test_assessment_is_refused_outside_the_village_or_without_the_capability(
    _case, user, code, surveyed, case_users
):
    _survey, item = surveyed

    with pytest.raises(DomainError) as refused:
        survey_assess(
            actor=getattr(case_users, user), item_id=item.pk, outcome="not_eligible", reason="x"
        )

    assert refused.value.code == code
    item.refresh_from_db()
    assert item.outcome == SurveyOutcome.PENDING
    assert not Referral.objects.exists()


def test_a_village_assistant_assesses_only_in_their_village(
    make_registry, make_user, areas, case_users
):
    from lowbao.areas.roles import Role

    household = make_registry(village=areas.sibling_village)
    survey = _open(areas, case_users)
    item = _item(survey, household)
    assistant = make_user(role=Role.VILLAGE_ASSISTANT, area=areas.village)

    with pytest.raises(DomainError) as refused:
        survey_assess(actor=assistant, item_id=item.pk, outcome="not_eligible", reason="x")

    assert refused.value.code == "not_found"


# --- starting an application --------------------------------------------------------------------


def test_starting_an_application_registers_the_registry_family_in_its_village(
    surveyed, case_users, areas
):
    _survey, item = surveyed
    today = timezone.localdate()

    item = survey_start_application(
        actor=case_users.caseworker, item_id=item.pk, applied_on=today, authorisation_signed=True
    )

    application = Application.objects.select_related("household").get()
    assert item.application == application
    assert item.outcome == SurveyOutcome.APPLICATION_STARTED
    assert (application.status, application.area, application.programme) == (
        ApplicationStatus.APPLIED,
        areas.village,
        Programme.DIBAO,
    )
    assert (application.applicant_name, application.authorisation_signed) == ("王大", True)
    household = application.household
    assert (household.area, household.county, household.status) == (
        areas.village,
        areas.county,
        HouseholdStatus.APPLYING,
    )
    assert sorted(
        household.members.values_list("person__name", "relation", "labour_capacity", "in_payment")
    ) == [("李二", Relation.SPOUSE, L.WEAK, False), ("王大", Relation.HEAD, L.LOST, False)]
    assert set(household.members.values_list("person_id", flat=True)) == {
        p.pk for p in registry_persons(item.registry_household)
    }


def test_an_application_started_from_the_survey_follows_the_normal_workflow(surveyed, case_users):
    from cases.choices import ApplicationAction
    from cases.services.applications import application_transition

    _survey, item = surveyed
    item = survey_start_application(
        actor=case_users.caseworker,
        item_id=item.pk,
        applied_on=timezone.localdate(),
        authorisation_signed=True,
    )

    application = application_transition(
        application_id=item.application_id,
        action=ApplicationAction.ACCEPT,
        actor=case_users.caseworker,
        today=date(2026, 11, 2),
    )

    assert application.status == ApplicationStatus.ACCEPTED
    assert not HouseholdMember.objects.filter(in_payment=True).exists()


def test_an_earlier_household_of_the_family_is_reused(surveyed, make_paid, case_users):
    _survey, item = surveyed
    earlier = make_paid(
        persons=registry_persons(item.registry_household), status=HouseholdStatus.NOT_COVERED
    )

    item = survey_start_application(
        actor=case_users.caseworker,
        item_id=item.pk,
        applied_on=timezone.localdate(),
        authorisation_signed=False,
    )

    assert item.application.household_id == earlier.pk
    assert Household.objects.count() == 1


def test_a_registry_household_without_a_head_cannot_start_an_application(
    make_registry, areas, case_users
):
    household = make_registry(members=[RegistryPerson(relation=Relation.SPOUSE)])
    survey = _open(areas, case_users)
    item = _item(survey, household)

    with pytest.raises(DomainError) as refused:
        survey_start_application(
            actor=case_users.caseworker,
            item_id=item.pk,
            applied_on=timezone.localdate(),
            authorisation_signed=True,
        )

    assert refused.value.code == "household_invalid"
    item.refresh_from_db()
    assert item.outcome == SurveyOutcome.PENDING
    assert not Household.objects.exists()


def test_the_poverty_office_cannot_start_an_application(surveyed, case_users):
    _survey, item = surveyed

    with pytest.raises(DomainError) as refused:
        survey_start_application(
            actor=case_users.poverty_office,
            item_id=item.pk,
            applied_on=timezone.localdate(),
            authorisation_signed=True,
        )

    assert refused.value.code == "permission_denied"
    assert not Application.objects.exists()


# --- progress and the county report -----------------------------------------------------------


@pytest.fixture
def county_survey(make_registry, areas, case_users):
    """3 households in the caseworker's township (2 villages), 1 in the sibling township;
    deadline today + 5; one household assessed."""
    households = [
        make_registry(village=areas.village, number="PK-A1"),
        make_registry(village=areas.village, number="PK-A2"),
        make_registry(village=areas.sibling_village, number="PK-A3"),
        make_registry(village=areas.other_township_village, number="PK-B1"),
    ]
    deadline = timezone.localdate() + timedelta(days=5)
    survey = _open(areas, case_users, deadline=deadline)
    survey_assess(
        actor=case_users.caseworker,
        item_id=_item(survey, households[0]).pk,
        outcome="not_eligible",
        reason="收入较高",
    )
    return survey, households


def _counts(row):
    return (row.code, row.total, row.pending, row.done, row.overdue, row.not_eligible)


def test_progress_by_township_before_and_after_the_deadline(county_survey, areas, case_users):
    survey, _ = county_survey

    on_deadline = survey_progress(actor=case_users.civil_affairs, survey=survey, on=survey.deadline)
    after = survey_progress(
        actor=case_users.civil_affairs, survey=survey, on=survey.deadline + timedelta(days=1)
    )

    assert [_counts(row) for row in on_deadline.rows] == [
        (areas.township.code, 3, 2, 1, 0, 1),
        (areas.sibling_township.code, 1, 1, 0, 0, 0),
    ]
    assert _counts(on_deadline.total) == (areas.county.code, 4, 3, 1, 0, 1)
    assert [_counts(row) for row in after.rows] == [
        (areas.township.code, 3, 2, 1, 2, 1),
        (areas.sibling_township.code, 1, 1, 0, 1, 0),
    ]
    assert (after.total.overdue, after.is_past_deadline) == (3, True)


def test_a_township_sees_the_progress_of_its_own_households(county_survey, areas, case_users):
    survey, _ = county_survey

    progress = survey_progress(actor=case_users.caseworker, survey=survey, on=survey.deadline)

    assert [_counts(row) for row in progress.rows] == [(areas.township.code, 3, 2, 1, 0, 1)]
    assert progress.total.total == 3


def test_the_county_report_reads_back_with_masked_id_numbers(county_survey, case_users, areas):
    survey, households = county_survey
    stream = io.BytesIO()

    written = export_survey_xlsx(
        actor=case_users.civil_affairs, survey=survey, stream=stream, on=survey.deadline
    )

    workbook = load_workbook(io.BytesIO(stream.getvalue()))
    assert workbook.sheetnames == ["进度", "摸底户"]
    progress = list(workbook["进度"].iter_rows(values_only=True))
    assert progress[1] == SURVEY_PROGRESS_HEADERS
    assert progress[2] == ("察素齐镇", 3, 2, 1, 0, 0, 1, 0, 33)
    assert progress[-1] == ("合计", 4, 3, 1, 0, 0, 1, 0, 25)
    items = list(workbook["摸底户"].iter_rows(values_only=True))
    assert items[0] == SURVEY_ITEM_HEADERS
    assert written == 4 == len(items) - 1
    head = registry_persons(households[0])[0]
    first = items[1]
    assert first[:4] == ("察素齐镇", "察素齐一村", "PK-A1", head.name)
    assert first[4] == head.id_number[:6] + "********" + head.id_number[-4:]
    assert first[5:9] == (1, "不符合条件", "收入较高", f"{timezone.localdate():%Y-%m-%d}")
    assert head.id_number not in str(items)
    assert AuditEvent.objects.filter(action="export.survey", object_id=str(survey.pk)).exists()


def test_a_township_exports_only_its_households(county_survey, case_users):
    survey, _ = county_survey
    stream = io.BytesIO()

    written = export_survey_xlsx(actor=case_users.sibling_caseworker, survey=survey, stream=stream)

    assert written == 1
