"""The authorization matrix (quality.md S1): one row per URL name of the pages and the API.

Each row says which capability the URL needs (or ``PUBLIC`` / ``LOGIN``), the method the matrix
requests it with, which kind of object its kwargs point at (built in the own township, the
sibling township and another county by ``test_authorization_matrix``), and the role that holds the
capability. The expected statuses per relation follow from the row:

- anonymous: pages redirect to the login page (302), the API answers 401/403;
- a user without any role, and a role without the capability: 403 (``PUBLIC``/``LOGIN``: 200);
- the role in its own area: ``ok`` for GET (POST rows check only the denial side);
- the same role on an object of the sibling township / another county: 404 (a county role covers
  its sibling townships, so ``county``-level kinds and county roles skip the sibling relation);
- a league officer (parent level): ``ok`` for GET when the capability is granted to the league
  officer, 403 otherwise (and 403 for every POST it lacks the capability for).

A new URL pattern without a row fails ``test_every_url_pattern_has_a_row``; a row for a URL that
no longer exists fails ``test_every_row_names_an_existing_url``.
"""

from dataclasses import dataclass

from lowbao.areas.roles import Perm, Role
from review.dashboard import DASHBOARD_PERM

PUBLIC = "public"
LOGIN = "login only"

# URL namespaces and names that are not part of the matrix, with the reason.
EXCLUDED_NAMESPACES = {
    "admin": "Django admin: staff-only (is_staff), not area-scoped; no role reaches it",
}
EXCLUDED_NAMES = {
    "schema": "the OpenAPI document itself (checked by test_every_api_url_is_in_the_schema)",
    "api-docs": "Swagger UI shell for the schema: static HTML, no data",
}
EXCLUDED_PREFIXES = {
    "static/": "static files served by whitenoise, no data",
    "media/": "media served by the web server in production, not by Django",
}


@dataclass(frozen=True)
class Row:
    perm: str
    role: str | None = None  # the role holding ``perm`` (None for PUBLIC / LOGIN)
    method: str = "GET"
    kind: str | None = None  # the object kind behind the kwargs (see KINDS)
    extra: tuple[tuple[str, str], ...] = ()  # fixed kwargs (e.g. an action name)
    ok: int = 200  # the own-area status for GET
    own_object: bool = True  # False: no object of this kind is built; own → 404 with a reason
    # The object belongs to the user who made it (export jobs): everyone else, a reader above
    # included, gets 404.
    owner_only: bool = False
    query: str = ""  # a query string; ``{county}`` is the own county's code
    data: tuple[tuple[str, str], ...] = ()  # a POST body that passes the input validation
    reason: str = ""


# Object kinds: the URL kwarg each fills, and whether the kind lives at county level (a
# county-level object is shared by both townships of the county).
KINDS: dict[str, tuple[str, str]] = {
    "household": ("household_id", "township"),
    "household_api": ("pk", "township"),
    "application": ("application_id", "township"),
    "application_api": ("pk", "township"),
    "payment_sheet": ("sheet_id", "township"),
    "payment_sheet_api": ("sheet_id", "township"),
    "registry_household": ("household_id", "township"),
    "registry_household_api": ("pk", "township"),
    "person": ("person_id", "township"),
    "campaign": ("campaign_id", "county"),
    "review_list": ("list_id", "township"),
    "review_item": ("item_id", "township"),
    "recon_run": ("run_id", "county"),
    "recon_run_api": ("pk", "county"),
    "recon_item": ("item_id", "township"),
    "recon_item_api": ("pk", "township"),
    "area": ("code", "township"),
    "village": ("village_code", "township"),
    "user": ("user_id", "township"),
    # built by matrix_objects.build_objects
    "change": ("change_id", "township"),
    "temporary": ("assistance_id", "township"),
    "registry_snapshot": ("snapshot_id", "county"),
    "review_snapshot": ("snapshot_id", "township"),
    "survey": ("survey_id", "county"),
    "survey_item": ("item_id", "township"),
    "referral": ("referral_id", "township"),
    "official": ("official_id", "township"),
    "spot_check": ("spot_check_id", "county"),
    "import_batch": ("batch_id", "county"),
    "export_job": ("job_id", "county"),
}

CW = Role.TOWNSHIP_CASEWORKER
TH = Role.TOWNSHIP_HEAD
CA = Role.COUNTY_CIVIL_AFFAIRS
PO = Role.COUNTY_POVERTY_OFFICE
DA = Role.DATA_ADMIN
SA = Role.SECURITY_ADMIN
RO = Role.REGION_OFFICER

NOT_BUILT = (
    "no object of this kind in the matrix world; own-area request checks the 404 of an unknown id"
)

ROWS: dict[str, Row] = {
    # core / accounts
    "web:home": Row(LOGIN),
    "web:health": Row(PUBLIC),
    "accounts:login": Row(PUBLIC),
    "accounts:logout": Row(LOGIN, method="POST"),
    "accounts:password_change": Row(LOGIN),
    "accounts:switch_area": Row(LOGIN, method="POST"),
    "accounts:second_factor": Row(LOGIN),
    "accounts:second_factor_setup": Row(LOGIN),
    "accounts:second_factor_verify": Row(LOGIN),
    "accounts:recovery_codes_regenerate": Row(LOGIN, method="POST"),
    "accounts:second_factor_reset_search": Row(Perm.ACCOUNT_MANAGE, SA),
    "accounts:second_factor_reset": Row(Perm.ACCOUNT_MANAGE, SA, kind="user"),
    # areas
    "areas:area_list": Row(Perm.AREA_VIEW, CW),
    "areas:area_detail": Row(Perm.AREA_VIEW, CW, kind="area"),
    # cases
    "cases:household_list": Row(Perm.CASE_VIEW, CW),
    "cases:household_detail": Row(Perm.CASE_VIEW, CW, kind="household"),
    "cases:application_new": Row(Perm.CASE_APPLY, CW),
    "cases:worklist": Row(Perm.CASE_VIEW, CW),
    "cases:application_detail": Row(Perm.CASE_VIEW, CW, kind="application"),
    "cases:application_act": Row(
        Perm.CASE_VIEW, CW, "POST", "application", extra=(("action", "accept"),)
    ),
    "cases:county_visit_new": Row(Perm.CASE_COUNTY_VISIT, CA, "POST", "application"),
    "cases:application_print": Row(Perm.CASE_VIEW, CW, kind="application"),
    "cases:decision_print": Row(
        Perm.CASE_VIEW, CW, kind="application", ok=404, reason="no decision yet: 申请 state"
    ),
    "cases:county_sample": Row(Perm.CASE_COUNTY_VISIT, CA),
    "cases:village_notice": Row(Perm.CASE_VIEW, CW, kind="village"),
    "cases:means_test": Row(Perm.MEANS_TEST_RUN, CW),
    "cases:household_calculation": Row(Perm.CASE_VIEW, CW, kind="household"),
    "cases:payment_sheet_list": Row(Perm.PAYMENT_VIEW, CW),
    "cases:payment_totals": Row(Perm.PAYMENT_VIEW, CW),
    "cases:payment_sheet_detail": Row(Perm.PAYMENT_VIEW, CW, kind="payment_sheet"),
    "cases:payment_sheet_export": Row(Perm.PAYMENT_VIEW, CW, kind="payment_sheet"),
    "cases:household_manage": Row(Perm.CASE_VIEW, CW, kind="household"),
    "cases:household_finish_grace": Row(Perm.CHANGE_DECIDE, CA, "POST", "household"),
    "cases:household_manage_act": Row(
        Perm.CASE_VIEW, CW, "POST", "household", extra=(("action", "visit"),)
    ),
    "cases:change_list": Row(Perm.CASE_VIEW, CW),
    "cases:change_detail": Row(Perm.CASE_VIEW, CW, kind="change"),
    "cases:change_assess": Row(Perm.CASE_VIEW, CW, "POST", "change"),
    "cases:change_decide": Row(Perm.CHANGE_DECIDE, CA, "POST", "change"),
    "cases:temporary_list": Row(Perm.CASE_VIEW, CW),
    "cases:temporary_new": Row(Perm.TEMPORARY_APPLY, CW),
    "cases:temporary_detail": Row(Perm.CASE_VIEW, CW, kind="temporary"),
    "cases:temporary_decide": Row(Perm.TEMPORARY_APPROVE, TH, "POST", "temporary"),
    "cases:temporary_paperwork": Row(Perm.TEMPORARY_APPLY, CW, "POST", "temporary"),
    # poverty
    "poverty:registry_household_list": Row(Perm.REGISTRY_VIEW, CW),
    "poverty:card_extract": Row(Perm.REGISTRY_VIEW, CA, query="county={county}"),
    "poverty:registry_household_detail": Row(Perm.REGISTRY_VIEW, CW, kind="registry_household"),
    "poverty:person_overview": Row(Perm.REGISTRY_VIEW, CW, kind="person"),
    "poverty:snapshot_list": Row(Perm.REGISTRY_VIEW, CW),
    # A snapshot is a county's whole export: township roles see households, not snapshots.
    "poverty:snapshot_detail": Row(Perm.REGISTRY_VIEW, PO, kind="registry_snapshot"),
    "poverty:verification_list": Row(Perm.VERIFICATION_VIEW, CW),
    "poverty:application_verification": Row(Perm.VERIFICATION_VIEW, CW, kind="application"),
    "poverty:application_verification_report": Row(
        Perm.VERIFICATION_REQUEST, CW, "POST", "application"
    ),
    "poverty:application_verification_request": Row(
        Perm.VERIFICATION_REQUEST, CW, "POST", "application"
    ),
    "poverty:application_verification_explain": Row(
        Perm.VERIFICATION_EXPLAIN, CW, "POST", "application", extra=(("report_id", "999999"),)
    ),
    "poverty:official_list": Row(Perm.OFFICIAL_MANAGE, CA),
    "poverty:official_relative_new": Row(Perm.OFFICIAL_MANAGE, CA, "POST", "official"),
    "poverty:official_deactivate": Row(Perm.OFFICIAL_MANAGE, CA, "POST", "official"),
    "poverty:close_relative_filings": Row(Perm.CASE_VIEW, CW),
    "poverty:survey_list": Row(Perm.REGISTRY_VIEW, CW),
    "poverty:survey_detail": Row(Perm.REGISTRY_VIEW, CW, kind="survey"),
    "poverty:survey_export": Row(Perm.REGISTRY_VIEW, CW, kind="survey"),
    "poverty:survey_item_assess": Row(Perm.REGISTRY_VIEW, CW, "POST", "survey_item"),
    "poverty:survey_item_start": Row(Perm.REGISTRY_VIEW, CW, "POST", "survey_item"),
    "poverty:referral_list": Row(Perm.REGISTRY_VIEW, CW),
    "poverty:referral_propose": Row(Perm.REFERRAL_CREATE, CW, "POST"),
    "poverty:referral_export": Row(Perm.REGISTRY_VIEW, CW),
    "poverty:referral_transition": Row(
        Perm.REGISTRY_VIEW,
        CW,
        "POST",
        "referral",
        extra=(("action", "receive"),),
    ),
    "poverty:guarantee_report": Row(Perm.REGISTRY_VIEW, CW),
    "poverty:guarantee_export": Row(Perm.REGISTRY_VIEW, CW),
    "poverty:inspection_report": Row(Perm.INSPECTION_VIEW, CA),
    "poverty:inspection_export": Row(Perm.INSPECTION_VIEW, CA, query="county={county}"),
    "poverty:linkage_dashboard": Row(Perm.REGISTRY_VIEW, CW),
    # review: campaign
    "campaign:campaign_list": Row(Perm.REVIEW_VIEW, CW),
    "campaign:campaign_open": Row(Perm.REVIEW_MANAGE, CA, "POST"),
    "campaign:campaign_detail": Row(Perm.REVIEW_VIEW, CW, kind="campaign"),
    "campaign:joint_confirm": Row(Perm.REVIEW_VIEW, CA, "POST", "campaign"),
    "campaign:county_sign": Row(Perm.REVIEW_VIEW, CA, "POST", "campaign"),
    "campaign:reopen": Row(Perm.REVIEW_MANAGE, CA, "POST", "campaign"),
    "campaign:file": Row(Perm.REVIEW_MANAGE, CA, "POST", "campaign"),
    "campaign:list_detail": Row(Perm.REVIEW_VIEW, CW, kind="review_list"),
    "campaign:list_confirm": Row(Perm.REVIEW_VIEW, CW, "POST", "review_list"),
    "campaign:list_sign": Row(Perm.REVIEW_VIEW, TH, "POST", "review_list"),
    "campaign:list_bulk_decide": Row(Perm.CHANGE_DECIDE, CA, "POST", "review_list"),
    "campaign:list_bulk_propose": Row(Perm.CHANGE_REPORT, CW, "POST", "review_list"),
    "campaign:item_detail": Row(Perm.REVIEW_VIEW, CW, kind="review_item"),
    "campaign:item_act": Row(
        Perm.REVIEW_VIEW, CW, "POST", "review_item", extra=(("action", "visit"),)
    ),
    "campaign:snapshot_detail": Row(Perm.REVIEW_VIEW, CW, kind="review_snapshot"),
    "campaign:snapshot_pdf": Row(Perm.EXPORT_RUN, CW, kind="review_snapshot"),
    "campaign:snapshot_xlsx": Row(Perm.EXPORT_RUN, CW, kind="review_snapshot"),
    "campaign:filing_list": Row(Perm.REVIEW_VIEW, CW),
    "campaign:spot_check_list": Row(Perm.REVIEW_SPOT_CHECK, RO),
    "campaign:spot_check_draw": Row(Perm.REVIEW_SPOT_CHECK, RO, "POST"),
    "campaign:spot_check_detail": Row(Perm.REVIEW_SPOT_CHECK, RO, kind="spot_check"),
    "campaign:spot_check_finding": Row(Perm.REVIEW_SPOT_CHECK, RO, "POST", "spot_check"),
    "campaign:spot_check_return": Row(Perm.REVIEW_SPOT_CHECK, RO, "POST", "spot_check"),
    # review: dashboard
    "dashboard:home": Row(DASHBOARD_PERM, CA),
    "dashboard:bulletin_xlsx": Row(DASHBOARD_PERM, CA),
    "dashboard:bulletin_pdf": Row(DASHBOARD_PERM, CA),
    # review: reconciliation
    "review:reconciliation_home": Row(
        Perm.RECONCILE_VIEW, CW, ok=302, reason="redirects to the summary or the worklist"
    ),
    "review:reconciliation_summary": Row(Perm.RECONCILE_VIEW, CW),
    "review:reconciliation_run_start": Row(Perm.RECONCILE_RUN, CA, "POST"),
    "review:reconciliation_run_progress": Row(Perm.RECONCILE_VIEW, CA, kind="recon_run"),
    "review:reconciliation_worklist": Row(Perm.RECONCILE_VIEW, CW),
    "review:reconciliation_export": Row(
        Perm.EXPORT_RUN, CW, ok=302, reason="GET hands over to the export job page"
    ),
    "review:reconciliation_item": Row(Perm.RECONCILE_VIEW, CW, kind="recon_item"),
    "review:reconciliation_item_resolve": Row(Perm.RECONCILE_RESOLVE, CW, "POST", "recon_item"),
    "review:reconciliation_item_reopen": Row(Perm.RECONCILE_RESOLVE, CW, "POST", "recon_item"),
    "review:reconciliation_item_refer": Row(Perm.RECONCILE_RESOLVE, CW, "POST", "recon_item"),
    # imports / exports
    "imports:upload": Row(Perm.IMPORT_RUN, DA),
    "imports:batch_list": Row(Perm.IMPORT_RUN, DA),
    "imports:batch_detail": Row(Perm.IMPORT_RUN, DA, kind="import_batch"),
    "imports:batch_progress": Row(Perm.IMPORT_RUN, DA, kind="import_batch"),
    "imports:batch_apply": Row(Perm.IMPORT_RUN, DA, "POST", "import_batch"),
    "imports:batch_recheck": Row(Perm.IMPORT_RUN, DA, "POST", "import_batch"),
    "imports:error_sheet": Row(Perm.IMPORT_RUN, DA, kind="import_batch"),
    "exports:job_list": Row(Perm.EXPORT_RUN, CW),
    "exports:export_new": Row(Perm.EXPORT_RUN, CW, extra=(("kind", "dibao"),)),
    "exports:job_download": Row(Perm.EXPORT_RUN, CW, kind="export_job", owner_only=True),
    # API /api/v1/
    "area-list": Row(Perm.AREA_VIEW, CW),
    "area-detail": Row(Perm.AREA_VIEW, CW, kind="area"),
    "means-test": Row(Perm.MEANS_TEST_RUN, CW, "POST"),
    "household-list": Row(Perm.CASE_VIEW, CW),
    "household-detail": Row(Perm.CASE_VIEW, CW, kind="household_api"),
    "case-list": Row(Perm.CASE_VIEW, CW),
    "case-detail": Row(Perm.CASE_VIEW, CW, kind="application_api"),
    "payment-sheet-list": Row(Perm.PAYMENT_VIEW, CW),
    "payment-sheet-detail": Row(Perm.PAYMENT_VIEW, CW, kind="payment_sheet_api"),
    "poverty-household-push": Row(Perm.REGISTRY_VIEW, CW),
    "poverty-household-detail": Row(Perm.REGISTRY_VIEW, CW, kind="registry_household_api"),
    "poverty-snapshot-list": Row(Perm.REGISTRY_VIEW, CW),
    "verification-report-push": Row(
        Perm.VERIFICATION_VIEW, CW, ok=400, reason="GET needs ?application=; 400 names it"
    ),
    "disability-record-push": Row(Perm.DISABILITY_PUSH, Role.DISABILITY_FEDERATION_SYSTEM, "POST"),
    "poverty-referral-list": Row(Perm.REGISTRY_VIEW, CW),
    "review-campaign-list": Row(Perm.REVIEW_VIEW, CW),
    "review-campaign-detail": Row(Perm.REVIEW_VIEW, CW, kind="campaign"),
    "review-list-list": Row(Perm.REVIEW_VIEW, CW),
    "review-list-detail": Row(Perm.REVIEW_VIEW, CW, kind="review_list"),
    "review-list-item-list": Row(Perm.REVIEW_VIEW, CW, kind="review_list"),
    "review-item-detail": Row(Perm.REVIEW_VIEW, CW, kind="review_item"),
    "reconciliation-run-list": Row(Perm.RECONCILE_VIEW, CA),
    "reconciliation-run-detail": Row(Perm.RECONCILE_VIEW, CA, kind="recon_run_api"),
    "reconciliation-item-list": Row(Perm.RECONCILE_VIEW, CW),
    "reconciliation-item-detail": Row(Perm.RECONCILE_VIEW, CW, kind="recon_item_api"),
    "reconciliation-item-resolve": Row(
        Perm.RECONCILE_RESOLVE,
        CW,
        "POST",
        "recon_item_api",
        data=(("state", "verified"), ("note", "矩阵测试")),
    ),
    "reconciliation-item-reopen": Row(
        Perm.RECONCILE_RESOLVE, CW, "POST", "recon_item_api", data=(("note", "矩阵测试"),)
    ),
}
