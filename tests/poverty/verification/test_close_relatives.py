"""近亲属备案: officials and their close relatives, matched at acceptance; a matched or declared
case is filed and needs the county's own home visit before approval."""

from dataclasses import replace
from datetime import date

import pytest

from cases.choices import ApplicationStatus, CountyVisitReason, Relation
from cases.errors import CaseErrorCode
from cases.services.applications import county_visit_record
from lowbao.audit.models import AuditEvent
from lowbao.core.errors import DomainError
from poverty.choices import CloseRelation, OfficialKind
from poverty.models import CloseRelativeFiling, Official, OfficialRelative
from poverty.services.officials import (
    official_add,
    official_deactivate,
    official_relative_add,
)
from tests.cases.workflow.test_application_path import walk_to_county_review
from tests.fixtures.cases import member
from tests.lowbao.people.factories import make_id_number
from tests.poverty.verification.conftest import DECISION_DAY, approve

pytestmark = pytest.mark.django_db


@pytest.fixture
def official(areas, case_users):
    return official_add(
        actor=case_users.civil_affairs,
        county=areas.county,
        area=areas.township,
        id_number=make_id_number(),
        name="刘经办",
        kind=OfficialKind.CIVIL_AFFAIRS_STAFF,
        position="民政助理",
    )


def _accept_and_walk(application, users):
    return walk_to_county_review(application, users)


def test_a_relative_of_an_official_is_filed_at_acceptance_and_needs_the_county_visit(
    official, new_application, case_users, verified
):
    brother = member(income="100", name="刘二")
    official_relative_add(
        actor=case_users.civil_affairs,
        official=official,
        id_number=brother.id_number,
        name="刘二",
        relation=CloseRelation.SIBLING,
    )
    application = new_application(members=[brother])

    application = _accept_and_walk(application, case_users)

    filing = CloseRelativeFiling.objects.get(application=application)
    assert (filing.official, filing.relation, filing.source, filing.filed_by) == (
        official,
        CloseRelation.SIBLING,
        "matched",
        case_users.caseworker,
    )
    assert application.county_visit_required is True
    assert application.county_visit_reason == CountyVisitReason.CLOSE_RELATIVE
    application.household.refresh_from_db()
    assert application.household.is_close_relative_case is True
    assert AuditEvent.objects.filter(action="close_relative.file").count() == 1

    verified(application)
    with pytest.raises(DomainError) as refused:
        approve(application, case_users)
    assert refused.value.code == CaseErrorCode.STEP_INCOMPLETE
    assert refused.value.message == "该申请须先完成县级入户核查"
    county_visit_record(
        actor=case_users.civil_affairs,
        application_id=application.pk,
        visited_on=DECISION_DAY,
        visitors=["县民政甲", "县民政乙"],
        record_text="入户核实，家庭情况属实",
    )
    assert approve(application, case_users).status == ApplicationStatus.APPROVED


def test_the_official_themselves_applying_is_filed_as_self(official, new_application, case_users):
    own = replace(member(income="100", name="刘经办"), id_number=official.person.id_number)
    application = new_application(members=[own, member(relation=Relation.SPOUSE, name="刘妻")])

    application = _accept_and_walk(application, case_users)

    assert list(
        CloseRelativeFiling.objects.filter(application=application).values_list(
            "official_id", "relation", "source"
        )
    ) == [(official.pk, CloseRelation.SELF, "matched")]


def test_a_declared_case_is_filed_too(new_application, case_users):
    application = new_application(declares_close_relative=True)

    application = _accept_and_walk(application, case_users)

    assert list(
        CloseRelativeFiling.objects.filter(application=application).values_list(
            "official_id", "source"
        )
    ) == [(None, "declared")]
    assert application.county_visit_required is True
    assert application.county_visit_reason == CountyVisitReason.CLOSE_RELATIVE


def test_no_match_leaves_the_application_alone(official, new_application, case_users):
    application = _accept_and_walk(new_application(), case_users)

    assert CloseRelativeFiling.objects.count() == 0
    assert application.county_visit_required is False
    application.household.refresh_from_db()
    assert application.household.is_close_relative_case is False


@pytest.mark.parametrize(
    "case",
    [
        pytest.param("inactive", id="official_left_office"),
        pytest.param("other_county", id="official_of_another_county"),
    ],
)
def test_inactive_or_other_county_officials_do_not_match(
    case, official, new_application, case_users, areas
):
    relative = member(income="100", name="刘三")
    target = official
    if case == "other_county":
        target = official_add(
            actor=case_users.other_county_civil_affairs,
            county=areas.sibling_county,
            area=areas.sibling_county,
            id_number=make_id_number(),
            name="外县干部",
            kind=OfficialKind.VILLAGE_CADRE,
        )
    official_relative_add(
        actor=case_users.civil_affairs
        if case == "inactive"
        else case_users.other_county_civil_affairs,
        official=target,
        id_number=relative.id_number,
        name="刘三",
        relation=CloseRelation.CHILD,
    )
    if case == "inactive":
        official_deactivate(actor=case_users.civil_affairs, official=official)

    application = _accept_and_walk(new_application(members=[relative]), case_users)

    assert CloseRelativeFiling.objects.count() == 0
    assert application.county_visit_required is False


def test_official_services_need_the_capability_and_the_county(
    official, case_users, areas, make_user
):
    for actor, code in (
        (case_users.caseworker, "permission_denied"),
        (case_users.other_county_civil_affairs, "not_found"),
    ):
        with pytest.raises(DomainError) as refused:
            official_add(
                actor=actor,
                county=areas.county,
                area=areas.village,
                id_number=make_id_number(),
                name="某",
                kind=OfficialKind.VILLAGE_CADRE,
            )
        assert refused.value.code == code
        with pytest.raises(DomainError) as refused:
            official_relative_add(
                actor=actor,
                official=official,
                id_number=make_id_number(),
                name="某",
                relation=CloseRelation.SPOUSE,
            )
        assert refused.value.code == code
    assert Official.objects.count() == 1
    assert OfficialRelative.objects.count() == 0


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        pytest.param({"area": "other_county_village"}, "area", id="area_outside_county"),
        pytest.param({"kind": "mayor"}, "kind", id="unknown_kind"),
        pytest.param({"id_number": "150121198001010018"}, "id_number", id="bad_id"),
    ],
)
def test_official_add_validates(case_users, areas, changes, field):
    arguments = {
        "actor": case_users.civil_affairs,
        "county": areas.county,
        "area": areas.village,
        "id_number": make_id_number(),
        "name": "某",
        "kind": OfficialKind.VILLAGE_CADRE,
    }
    if "area" in changes:
        arguments["area"] = getattr(areas, changes["area"])
    else:
        arguments.update(changes)

    with pytest.raises(DomainError) as refused:
        official_add(**arguments)

    assert field in refused.value.fields
    assert Official.objects.count() == 0


def test_adding_again_updates_instead_of_duplicating(official, case_users, areas):
    again = official_add(
        actor=case_users.civil_affairs,
        county=areas.county,
        area=areas.village,
        id_number=official.person.id_number,
        name="刘经办",
        kind=OfficialKind.CIVIL_AFFAIRS_STAFF,
        position="站长",
    )
    relative_id = make_id_number()
    for relation in (CloseRelation.PARENT, CloseRelation.SPOUSE):
        official_relative_add(
            actor=case_users.civil_affairs,
            official=official,
            id_number=relative_id,
            name="某",
            relation=relation,
        )

    assert again.pk == official.pk
    assert (again.area, again.position) == (areas.village, "站长")
    assert list(OfficialRelative.objects.values_list("relation", flat=True)) == ["spouse"]
    with pytest.raises(DomainError):
        official_relative_add(
            actor=case_users.civil_affairs,
            official=official,
            id_number=official.person.id_number,
            name="刘经办",
            relation=CloseRelation.SPOUSE,
        )
    audit = AuditEvent.objects.filter(action__startswith="official.")
    assert official.person.id_number not in str(list(audit.values_list("changes", flat=True)))


def test_a_filing_keeps_dates_of_acceptance(official, new_application, case_users):
    relative = member(income="100", name="刘四")
    official_relative_add(
        actor=case_users.civil_affairs,
        official=official,
        id_number=relative.id_number,
        name="刘四",
        relation=CloseRelation.GRANDCHILD,
    )

    _accept_and_walk(new_application(members=[relative]), case_users)

    assert CloseRelativeFiling.objects.get().filed_on == date(2026, 11, 2)
