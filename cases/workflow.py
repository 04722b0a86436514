"""The application procedure as a transition table (style B.4, domain.md §5).

``TRANSITIONS[(profile, from_status, action)] = Transition(to_status, perm)``. The 2012 trial
profile has a mandatory 民主评议 and a second 公示 after county approval; the 2021 profile has
neither (an appraisal is still possible). 特困 applications follow the 2021 sequence (S6, 2021).
What each step must record, and its deadlines, live in ``cases/services/applications.py``.
"""

from dataclasses import dataclass

from cases.choices import ApplicationAction as A
from cases.choices import ApplicationStatus as S
from cases.choices import ProcedureProfile, Programme
from lowbao.areas.roles import Perm


@dataclass(frozen=True)
class Transition:
    to_status: str
    perm: str


_COMMON: dict[tuple[str, str], Transition] = {
    (S.APPLIED, A.ACCEPT): Transition(S.ACCEPTED, Perm.CASE_ACCEPT),
    (S.ACCEPTED, A.INVESTIGATE): Transition(S.INVESTIGATED, Perm.CASE_INVESTIGATE),
    (S.INVESTIGATED, A.APPRAISE): Transition(S.APPRAISED, Perm.CASE_INVESTIGATE),
    (S.INVESTIGATED, A.REINVESTIGATE): Transition(S.ACCEPTED, Perm.CASE_INVESTIGATE),
    (S.APPRAISED, A.REINVESTIGATE): Transition(S.ACCEPTED, Perm.CASE_INVESTIGATE),
    (S.APPRAISED, A.TOWNSHIP_REVIEW): Transition(S.TOWNSHIP_REVIEWED, Perm.CASE_TOWNSHIP_REVIEW),
    (S.TOWNSHIP_REVIEWED, A.START_NOTICE): Transition(S.IN_NOTICE, Perm.CASE_NOTICE),
    (S.TOWNSHIP_REVIEWED, A.SUBMIT_TO_COUNTY): Transition(S.COUNTY_REVIEW, Perm.CASE_NOTICE),
    (S.TOWNSHIP_REVIEWED, A.REINVESTIGATE): Transition(S.ACCEPTED, Perm.CASE_TOWNSHIP_REVIEW),
    (S.IN_NOTICE, A.OBJECT): Transition(S.ACCEPTED, Perm.CASE_NOTICE),
    (S.IN_NOTICE, A.END_NOTICE): Transition(S.COUNTY_REVIEW, Perm.CASE_NOTICE),
    (S.COUNTY_REVIEW, A.REJECT): Transition(S.REJECTED, Perm.CASE_APPROVE),
    (S.COUNTY_REVIEW, A.SEND_BACK): Transition(S.ACCEPTED, Perm.CASE_APPROVE),
}
for _status in (
    S.APPLIED,
    S.ACCEPTED,
    S.INVESTIGATED,
    S.APPRAISED,
    S.TOWNSHIP_REVIEWED,
    S.IN_NOTICE,
):
    _COMMON[(_status, A.WITHDRAW)] = Transition(S.WITHDRAWN, Perm.CASE_ACCEPT)
for _status in (S.ACCEPTED, S.INVESTIGATED):
    _COMMON[(_status, A.TERMINATE)] = Transition(S.TERMINATED, Perm.CASE_ACCEPT)

_TRIAL_2012 = {
    **_COMMON,
    (S.COUNTY_REVIEW, A.APPROVE): Transition(S.IN_APPROVAL_NOTICE, Perm.CASE_APPROVE),
    (S.IN_APPROVAL_NOTICE, A.FINALISE): Transition(S.APPROVED, Perm.CASE_APPROVE),
    (S.IN_APPROVAL_NOTICE, A.OBJECT): Transition(S.COUNTY_REVIEW, Perm.CASE_APPROVE),
}
_RULES_2021 = {
    **_COMMON,
    (S.INVESTIGATED, A.TOWNSHIP_REVIEW): Transition(S.TOWNSHIP_REVIEWED, Perm.CASE_TOWNSHIP_REVIEW),
    (S.COUNTY_REVIEW, A.APPROVE): Transition(S.APPROVED, Perm.CASE_APPROVE),
}

TRANSITIONS: dict[tuple[str, str, str], Transition] = {
    (profile, from_status, action): transition
    for profile, table in (
        (ProcedureProfile.TRIAL_2012, _TRIAL_2012),
        (ProcedureProfile.RULES_2021, _RULES_2021),
    )
    for (from_status, action), transition in table.items()
}


def effective_profile(*, profile: str, programme: str) -> str:
    """特困 follows the 2021 sequence whatever the dibao profile (S6 has no second notice)."""
    return ProcedureProfile.RULES_2021 if programme == Programme.TEKUN else profile


def transition_for(
    *, profile: str, programme: str, from_status: str, action: str
) -> Transition | None:
    return TRANSITIONS.get(
        (effective_profile(profile=profile, programme=programme), from_status, action)
    )


def actions_from(*, profile: str, programme: str, status: str) -> list[tuple[str, Transition]]:
    """Every action possible from ``status`` (in table order), whoever may do it."""
    wanted = effective_profile(profile=profile, programme=programme)
    return [
        (action, transition)
        for (table_profile, from_status, action), transition in TRANSITIONS.items()
        if table_profile == wanted and from_status == status
    ]
