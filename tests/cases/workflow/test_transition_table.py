"""Walk the whole transition table: every (profile, state, action) allowed for the role that
holds its capability, denied for roles that do not, and unknown pairs refused (style B.9)."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from cases.choices import ApplicationAction as A
from cases.choices import ApplicationStatus as S
from cases.choices import NoticeStage
from cases.models import Application, PublicNotice
from cases.services.applications import StepData, application_transition
from cases.workflow import TRANSITIONS
from lowbao.areas.roles import ROLE_PERMISSIONS, Perm
from lowbao.core.errors import DomainError

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 16)
_FULL_DATA = StepData(
    comment="说明",
    on=TODAY,
    investigators=["王一", "李二"],
    home_visit_record="记录",
    attendees_total=9,
    villager_representatives=6,
    minutes="记录",
    outcome="agree",
    opinion="recommend",
    objection="异议",
    certificate_number="C-1",
)
_USER_FOR_PERM = {
    Perm.CASE_ACCEPT: "caseworker",
    Perm.CASE_INVESTIGATE: "caseworker",
    Perm.CASE_TOWNSHIP_REVIEW: "township_head",
    Perm.CASE_NOTICE: "caseworker",
    Perm.CASE_APPROVE: "civil_affairs",
}
_ROLE_OF_USER = {
    "village_assistant": "village_assistant",
    "caseworker": "township_caseworker",
    "township_head": "township_head",
    "civil_affairs": "county_civil_affairs",
    "poverty_office": "county_poverty_office",
    "county_leader": "county_leader",
}


def _prepare(application: Application, from_status: str, action: str, users) -> StepData:
    """Put the application in ``from_status`` with what ``action`` needs recorded."""
    data = StepData(**{**_FULL_DATA.__dict__})
    application.status = from_status
    application.authorisation_signed = True
    application.means_test = {"eligible": True, "monthly_benefit": 600.0}
    application.proposed_amount = Decimal("600")
    if from_status == S.IN_APPROVAL_NOTICE:  # set by the county's approval before the notice
        application.approved_amount = Decimal("600")
        application.certificate_number = "C-1"
    application.accepted_by = users.caseworker
    application.township_opinion = "not_recommend" if action == A.SUBMIT_TO_COUNTY else "recommend"
    application.save()
    stage = NoticeStage.APPROVAL if from_status == S.IN_APPROVAL_NOTICE else NoticeStage.INITIAL
    if from_status in (S.IN_NOTICE, S.IN_APPROVAL_NOTICE):
        PublicNotice.objects.create(
            application=application,
            stage=stage,
            starts_on=TODAY - timedelta(days=10),
            ends_on=TODAY - timedelta(days=4),
            posted_by=users.caseworker,
        )
    return data


_ENTRIES = sorted(TRANSITIONS.items())


@pytest.mark.parametrize(
    ("key", "transition"), _ENTRIES, ids=[f"{p}-{s}-{a}" for (p, s, a), _ in _ENTRIES]
)
def test_allowed_for_the_role_with_the_capability(
    key, transition, new_application, case_users, verified
):
    profile, from_status, action = key
    application = new_application(applied_on=date(2021, 6, 1) if profile == "2012_trial" else None)
    assert application.profile == profile
    data = _prepare(application, from_status, action, case_users)
    verified(application)
    actor = getattr(case_users, _USER_FOR_PERM[transition.perm])

    result = application_transition(
        application_id=application.pk, action=action, actor=actor, data=data, today=TODAY
    )

    expected = transition.to_status
    assert result.status == expected
    assert result.transitions.get().action == action


@pytest.mark.parametrize(
    ("key", "transition"), _ENTRIES, ids=[f"{p}-{s}-{a}" for (p, s, a), _ in _ENTRIES]
)
def test_denied_for_every_role_without_the_capability(key, transition, new_application, case_users):
    profile, from_status, action = key
    application = new_application(applied_on=date(2021, 6, 1) if profile == "2012_trial" else None)
    data = _prepare(application, from_status, action, case_users)
    denied = [
        name
        for name, role in _ROLE_OF_USER.items()
        if transition.perm not in ROLE_PERMISSIONS[role]
    ]
    assert denied

    for name in denied:
        with pytest.raises(DomainError) as error:
            application_transition(
                application_id=application.pk,
                action=action,
                actor=getattr(case_users, name),
                data=data,
                today=TODAY,
            )
        assert error.value.code == "permission_denied", name

    application.refresh_from_db()
    assert application.status == from_status
    assert application.transitions.count() == 0


def test_actor_from_another_township_or_county_gets_not_found(new_application, case_users):
    application = new_application()

    for outsider in (case_users.sibling_caseworker, case_users.other_county_civil_affairs):
        with pytest.raises(DomainError) as error:
            application_transition(application_id=application.pk, action=A.ACCEPT, actor=outsider)
        assert error.value.code == "not_found"

    assert Application.objects.get(pk=application.pk).status == S.APPLIED


@pytest.mark.parametrize("status", S.values)
def test_pairs_not_in_the_table_are_refused(status, new_application, case_users):
    application = new_application()
    Application.objects.filter(pk=application.pk).update(
        status=status,
        approved_amount=Decimal("1"),
        payment_start_month=date(2026, 12, 1),
        rejection_reason="理由",
    )
    missing = [a for a in A.values if ("2021", status, a) not in TRANSITIONS]

    for action in missing:
        with pytest.raises(DomainError) as error:
            application_transition(
                application_id=application.pk,
                action=action,
                actor=case_users.civil_affairs,
                data=_FULL_DATA,
                today=TODAY,
            )
        assert error.value.code == "invalid_transition", action


def test_tekun_follows_the_2021_sequence_even_in_2012(new_application, case_users):
    from cases.workflow import effective_profile

    assert effective_profile(profile="2012_trial", programme="tekun") == "2021"
    assert effective_profile(profile="2012_trial", programme="dibao") == "2012_trial"
