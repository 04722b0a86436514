"""Roles (contracts.md codes, Chinese labels) and the capabilities each role holds.

A capability says what kind of thing a role may do; *where* comes from the area of the role
assignment (a role covers everything below its area). Object scope is never decided here: it comes
from ``lowbao.areas.scoping``.
"""

from django.db import models


class Role(models.TextChoices):
    VILLAGE_ASSISTANT = "village_assistant", "嘎查村协理员"
    TOWNSHIP_CASEWORKER = "township_caseworker", "苏木乡镇经办人"
    TOWNSHIP_HEAD = "township_head", "苏木乡镇负责人"
    SERVICE_ORG = "service_org", "购买服务机构"
    COUNTY_CIVIL_AFFAIRS = "county_civil_affairs", "旗县民政局"
    COUNTY_POVERTY_OFFICE = "county_poverty_office", "旗县扶贫办"
    COUNTY_LEADER = "county_leader", "旗县主要领导"
    LEAGUE_OFFICER = "league_officer", "盟市"
    REGION_OFFICER = "region_officer", "自治区"
    DATA_ADMIN = "data_admin", "数据管理员"
    SECURITY_ADMIN = "security_admin", "安全管理员"
    AUDIT_ADMIN = "audit_admin", "审计管理员"
    POVERTY_OFFICE_SYSTEM = "poverty_office_system", "扶贫部门系统"
    DISABILITY_FEDERATION_SYSTEM = "disability_federation_system", "残联系统"
    VERIFICATION_PLATFORM_SYSTEM = "verification_platform_system", "核对平台系统"


class Perm:
    """Capability names. Domain apps add theirs here so the matrix stays in one table."""

    AREA_VIEW = "area.view"
    AUDIT_VIEW = "audit.view"
    ACCOUNT_MANAGE = "account.manage"
    IMPORT_RUN = "import.run"
    POLICY_MANAGE = "policy.manage"
    # cases (issue 3)
    CASE_VIEW = "case.view"
    CASE_APPLY = "case.apply"
    CASE_ACCEPT = "case.accept"
    CASE_INVESTIGATE = "case.investigate"
    CASE_TOWNSHIP_REVIEW = "case.township_review"
    CASE_NOTICE = "case.notice"
    CASE_APPROVE = "case.approve"
    CASE_COUNTY_VISIT = "case.county_visit"
    MEANS_TEST_RUN = "means_test.run"
    PAYMENT_VIEW = "payment.view"
    PAYMENT_GENERATE = "payment.generate"
    PAYMENT_CHECK = "payment.check"
    PAYMENT_BANK = "payment.bank"
    CHANGE_REPORT = "change.report"
    CHANGE_DECIDE = "change.decide"
    TEMPORARY_APPLY = "temporary.apply"
    TEMPORARY_APPROVE = "temporary.approve"
    # poverty linkage (issue 4)
    REGISTRY_VIEW = "registry.view"
    REGISTRY_PUSH = "registry.push"
    SURVEY_OPEN = "survey.open"
    SURVEY_ASSESS = "survey.assess"
    REFERRAL_CREATE = "referral.create"
    REFERRAL_RECEIVE = "referral.receive"
    GUARANTEE_RECORD = "guarantee.record"
    VERIFICATION_VIEW = "verification.view"
    VERIFICATION_REQUEST = "verification.request"
    VERIFICATION_PUSH = "verification.push"
    VERIFICATION_EXPLAIN = "verification.explain"
    DISABILITY_PUSH = "disability.push"
    OFFICIAL_MANAGE = "official.manage"
    INSPECTION_VIEW = "inspection.view"
    # ledger reconciliation (review app)
    RECONCILE_VIEW = "reconcile.view"
    RECONCILE_RUN = "reconcile.run"
    RECONCILE_RESOLVE = "reconcile.resolve"
    # annual review campaign (review app): see, open/reopen/file, spot-check the filings
    REVIEW_VIEW = "review.view"
    REVIEW_MANAGE = "review.manage"
    REVIEW_SPOT_CHECK = "review.spot_check"
    # full ID numbers and bank accounts on screen and in exports (quality.md S4: needs a
    # permission, a reason, and is audited)
    SENSITIVE_REVEAL = "sensitive.reveal"
    # exports of lists (rosters, registry, payment sheets, review lists, reconciliation items)
    EXPORT_RUN = "export.run"


SYSTEM_ROLES = frozenset(
    {
        Role.POVERTY_OFFICE_SYSTEM,
        Role.DISABILITY_FEDERATION_SYSTEM,
        Role.VERIFICATION_PLATFORM_SYSTEM,
    }
)

# The lowest area level at which each role may be assigned (a township role on a village is fine;
# a county role on a township is not what the role means).
ROLE_LEVELS: dict[str, tuple[str, ...]] = {
    Role.VILLAGE_ASSISTANT: ("village", "township"),
    Role.TOWNSHIP_CASEWORKER: ("township",),
    Role.TOWNSHIP_HEAD: ("township",),
    Role.SERVICE_ORG: ("county", "township"),
    Role.COUNTY_CIVIL_AFFAIRS: ("county",),
    Role.COUNTY_POVERTY_OFFICE: ("county",),
    Role.COUNTY_LEADER: ("county",),
    Role.LEAGUE_OFFICER: ("league",),
    Role.REGION_OFFICER: ("region",),
    Role.DATA_ADMIN: ("region", "league", "county"),
    Role.SECURITY_ADMIN: ("region", "league", "county"),
    Role.AUDIT_ADMIN: ("region", "league", "county"),
    Role.POVERTY_OFFICE_SYSTEM: ("region", "league", "county"),
    Role.DISABILITY_FEDERATION_SYSTEM: ("region", "league", "county"),
    Role.VERIFICATION_PLATFORM_SYSTEM: ("region", "league", "county"),
}

_HUMAN_ROLES = frozenset(Role) - SYSTEM_ROLES

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    role: frozenset({Perm.AREA_VIEW}) for role in _HUMAN_ROLES
} | {role: frozenset() for role in SYSTEM_ROLES}
ROLE_PERMISSIONS[Role.DATA_ADMIN] |= {Perm.IMPORT_RUN, Perm.POLICY_MANAGE}

_CASE_READERS = (
    Role.VILLAGE_ASSISTANT,
    Role.TOWNSHIP_CASEWORKER,
    Role.TOWNSHIP_HEAD,
    Role.SERVICE_ORG,
    Role.COUNTY_CIVIL_AFFAIRS,
    Role.COUNTY_POVERTY_OFFICE,
    Role.COUNTY_LEADER,
    Role.LEAGUE_OFFICER,
    Role.REGION_OFFICER,
)
_GRANTS: dict[str, tuple[str, ...]] = {
    Perm.CASE_VIEW: _CASE_READERS,
    Perm.PAYMENT_VIEW: _CASE_READERS,
    Perm.CASE_APPLY: (Role.VILLAGE_ASSISTANT, Role.TOWNSHIP_CASEWORKER),
    Perm.CASE_ACCEPT: (Role.TOWNSHIP_CASEWORKER,),
    # 172号 (六): purchased services may do household investigations (家计调查).
    Perm.CASE_INVESTIGATE: (Role.TOWNSHIP_CASEWORKER, Role.SERVICE_ORG),
    Perm.CASE_TOWNSHIP_REVIEW: (Role.TOWNSHIP_HEAD,),
    Perm.CASE_NOTICE: (Role.TOWNSHIP_CASEWORKER,),
    Perm.CASE_APPROVE: (Role.COUNTY_CIVIL_AFFAIRS,),
    Perm.CASE_COUNTY_VISIT: (Role.COUNTY_CIVIL_AFFAIRS,),
    Perm.MEANS_TEST_RUN: (
        Role.VILLAGE_ASSISTANT,
        Role.TOWNSHIP_CASEWORKER,
        Role.TOWNSHIP_HEAD,
        Role.SERVICE_ORG,
        Role.COUNTY_CIVIL_AFFAIRS,
        Role.COUNTY_POVERTY_OFFICE,
    ),
    Perm.PAYMENT_GENERATE: (Role.TOWNSHIP_CASEWORKER,),
    Perm.PAYMENT_CHECK: (Role.TOWNSHIP_HEAD, Role.COUNTY_CIVIL_AFFAIRS),
    Perm.PAYMENT_BANK: (Role.COUNTY_CIVIL_AFFAIRS,),
    Perm.CHANGE_REPORT: (Role.VILLAGE_ASSISTANT, Role.TOWNSHIP_CASEWORKER, Role.SERVICE_ORG),
    Perm.CHANGE_DECIDE: (Role.COUNTY_CIVIL_AFFAIRS,),
    Perm.TEMPORARY_APPLY: (Role.VILLAGE_ASSISTANT, Role.TOWNSHIP_CASEWORKER),
    # Small amounts may be approved by the township under delegation (domain.md §8).
    Perm.TEMPORARY_APPROVE: (Role.COUNTY_CIVIL_AFFAIRS, Role.TOWNSHIP_HEAD),
    Perm.REGISTRY_VIEW: _CASE_READERS,
    Perm.REGISTRY_PUSH: (Role.POVERTY_OFFICE_SYSTEM,),
    Perm.SURVEY_OPEN: (Role.COUNTY_CIVIL_AFFAIRS, Role.COUNTY_POVERTY_OFFICE),
    Perm.SURVEY_ASSESS: (Role.TOWNSHIP_CASEWORKER, Role.VILLAGE_ASSISTANT),
    Perm.REFERRAL_CREATE: (Role.TOWNSHIP_CASEWORKER, Role.COUNTY_CIVIL_AFFAIRS),
    Perm.REFERRAL_RECEIVE: (Role.COUNTY_POVERTY_OFFICE,),
    Perm.GUARANTEE_RECORD: (
        Role.TOWNSHIP_CASEWORKER,
        Role.VILLAGE_ASSISTANT,
        Role.COUNTY_POVERTY_OFFICE,
    ),
    Perm.VERIFICATION_VIEW: (
        Role.TOWNSHIP_CASEWORKER,
        Role.TOWNSHIP_HEAD,
        Role.SERVICE_ORG,
        Role.COUNTY_CIVIL_AFFAIRS,
        Role.COUNTY_LEADER,
    ),
    Perm.VERIFICATION_REQUEST: (Role.TOWNSHIP_CASEWORKER, Role.COUNTY_CIVIL_AFFAIRS),
    Perm.VERIFICATION_PUSH: (Role.VERIFICATION_PLATFORM_SYSTEM,),
    Perm.VERIFICATION_EXPLAIN: (Role.TOWNSHIP_CASEWORKER, Role.COUNTY_CIVIL_AFFAIRS),
    Perm.DISABILITY_PUSH: (Role.DISABILITY_FEDERATION_SYSTEM,),
    Perm.OFFICIAL_MANAGE: (Role.COUNTY_CIVIL_AFFAIRS,),
    Perm.INSPECTION_VIEW: (
        Role.COUNTY_CIVIL_AFFAIRS,
        Role.COUNTY_POVERTY_OFFICE,
        Role.COUNTY_LEADER,
        Role.LEAGUE_OFFICER,
        Role.REGION_OFFICER,
    ),
    Perm.RECONCILE_VIEW: _CASE_READERS,
    Perm.RECONCILE_RUN: (Role.COUNTY_CIVIL_AFFAIRS, Role.COUNTY_POVERTY_OFFICE),
    Perm.RECONCILE_RESOLVE: (
        Role.TOWNSHIP_CASEWORKER,
        Role.TOWNSHIP_HEAD,
        Role.COUNTY_CIVIL_AFFAIRS,
        Role.COUNTY_POVERTY_OFFICE,
    ),
    Perm.SENSITIVE_REVEAL: (
        Role.TOWNSHIP_CASEWORKER,
        Role.TOWNSHIP_HEAD,
        Role.COUNTY_CIVIL_AFFAIRS,
        Role.COUNTY_POVERTY_OFFICE,
        Role.DATA_ADMIN,
    ),
    Perm.EXPORT_RUN: (*_CASE_READERS, Role.DATA_ADMIN),
    Perm.REVIEW_VIEW: _CASE_READERS,
    Perm.REVIEW_MANAGE: (Role.COUNTY_CIVIL_AFFAIRS,),
    Perm.REVIEW_SPOT_CHECK: (Role.REGION_OFFICER,),
}
for _perm, _roles in _GRANTS.items():
    for _role in _roles:
        ROLE_PERMISSIONS[_role] = ROLE_PERMISSIONS[_role] | {_perm}
ROLE_PERMISSIONS[Role.SECURITY_ADMIN] |= {Perm.ACCOUNT_MANAGE}
ROLE_PERMISSIONS[Role.AUDIT_ADMIN] |= {Perm.AUDIT_VIEW}


def role_has_perm(role: str, perm: str) -> bool:
    return perm in ROLE_PERMISSIONS.get(role, frozenset())
