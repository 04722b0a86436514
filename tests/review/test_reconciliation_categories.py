"""The categories of reconciliation.md, one rule or edge per test, through the real service."""

from datetime import date

import pytest

from cases.choices import BenefitKind, HouseholdStatus, Programme
from lowbao.people.models import Person
from poverty.choices import PovertyAttribute as A
from poverty.choices import PovertyStatus as S
from review.models import ReconciliationCategory as C
from review.models import ReconciliationItem, ReconciliationRun, RunStatus, RunTrigger
from review.services.reconciliation import reconciliation_run_now
from tests.fixtures.reconciliation import AS_OF, Ledgers

pytestmark = pytest.mark.django_db

LOST, WEAK, ORDINARY, SKILLED = "lost", "weak", "ordinary", "skilled"


def reconcile(ledgers: Ledgers, county=None, as_of: date = AS_OF) -> ReconciliationRun:
    run = reconciliation_run_now(
        actor=None,
        county=county or ledgers.areas.county,
        as_of=as_of,
        trigger=RunTrigger.COMMAND,
    )
    assert run.status == RunStatus.FINISHED, run.error
    return run


def found(run: ReconciliationRun) -> set[tuple[str, str]]:
    return set(ReconciliationItem.objects.filter(findings__run=run).values_list("category", "key"))


def item(run: ReconciliationRun, category: str) -> ReconciliationItem:
    return ReconciliationItem.objects.get(findings__run=run, category=category)


def ids(*persons: Person) -> list[int]:
    return sorted(person.pk for person in persons)


def pair_key(dibao, registry) -> str:
    return f"{dibao.number}|{registry.number}"


def nonzero(run: ReconciliationRun) -> dict[str, int]:
    return {code: count for code, count in run.counts.items() if count}


# --- linked and the pair categories ----------------------------------------------------------


def test_a_one_to_one_pair_with_nothing_to_review_is_linked_and_counted_only(ledgers):
    ledgers.pair(size=3)
    ledgers.pair(programme=Programme.TEKUN)

    run = reconcile(ledgers)

    assert found(run) == set()
    assert nonzero(run) == {C.LINKED: 2}
    assert set(run.counts) == set(C.values)
    assert (run.dibao_households, run.registry_households) == (2, 2)


@pytest.mark.parametrize(
    ("_case", "programme", "attribute", "mismatch"),
    [
        ("dibao_general", Programme.DIBAO, A.GENERAL, True),
        ("dibao_dibao", Programme.DIBAO, A.DIBAO, False),
        ("dibao_tekun", Programme.DIBAO, A.TEKUN, True),
        ("dibao_plain_dibao_household", Programme.DIBAO, A.DIBAO_ONLY, True),
        ("tekun_tekun", Programme.TEKUN, A.TEKUN, False),
        ("tekun_dibao", Programme.TEKUN, A.DIBAO, True),
    ],
)
def test_attr_mismatch_when_the_attribute_does_not_match_the_programme(
    ledgers, _case, programme, attribute, mismatch
):
    a, b = ledgers.person(), ledgers.person()
    dibao = ledgers.dibao(a, b, programme=programme)
    registry = ledgers.registry(a, b, attribute=attribute)

    run = reconcile(ledgers)

    if not mismatch:
        assert found(run) == set()
        assert nonzero(run) == {C.LINKED: 1}
        return
    assert found(run) == {(C.ATTR_MISMATCH, pair_key(dibao, registry))}
    assert nonzero(run) == {C.ATTR_MISMATCH: 1}
    finding = item(run, C.ATTR_MISMATCH)
    assert finding.dibao_household == dibao
    assert finding.registry_household == registry
    assert finding.dibao_numbers == [dibao.number]
    assert finding.registry_numbers == [registry.number]
    assert finding.person_ids == ids(a, b)
    assert finding.details == {
        "dibao_programme": Programme(programme).label,
        "registry_attribute": A(attribute).label,
    }
    assert finding.township == ledgers.areas.township


@pytest.mark.parametrize(
    ("_case", "recorded", "mismatch", "difference"),
    [
        ("one_yuan_less", "459.00", True, "1.00"),
        ("less_than_one_yuan_less", "459.01", False, None),
        ("one_yuan_more", "461.00", True, "1.00"),
        ("much_less", "300.50", True, "159.50"),
        ("equal", "460.00", False, None),
        ("not_recorded", None, False, None),
    ],
)
def test_amount_mismatch_when_the_recorded_amount_differs_by_one_yuan_or_more(
    ledgers, _case, recorded, mismatch, difference
):
    a = ledgers.person()
    dibao = ledgers.dibao(a, amount="460.00")
    registry = ledgers.registry(a, attribute=A.DIBAO, amount=recorded)

    run = reconcile(ledgers)

    if not mismatch:
        assert found(run) == set()
        return
    assert found(run) == {(C.AMOUNT_MISMATCH, pair_key(dibao, registry))}
    assert item(run, C.AMOUNT_MISMATCH).details == {
        "dibao_amount": "460.00",
        "registry_amount": recorded,
        "difference": difference,
    }


def test_amount_mismatch_compares_the_amount_of_the_period_in_force_on_the_date(ledgers):
    """The household's current amount changed after the as-of date; the period counts."""
    a = ledgers.person()
    dibao = ledgers.dibao(a, amount="460.00", period_end=date(2026, 8, 1))
    dibao.monthly_amount = 520
    dibao.save(update_fields=["monthly_amount"])
    ledgers.registry(a, attribute=A.DIBAO, amount="460.00")

    assert found(reconcile(ledgers)) == set()


def test_member_mismatch_lists_the_members_only_in_each_household(ledgers):
    a, b, only_d, only_r = (ledgers.person() for _ in range(4))
    dibao = ledgers.dibao(a, b, only_d)
    registry = ledgers.registry(a, only_r, b, attribute=A.DIBAO)

    run = reconcile(ledgers)

    assert found(run) == {(C.MEMBER_MISMATCH, pair_key(dibao, registry))}
    finding = item(run, C.MEMBER_MISMATCH)
    assert finding.person_ids == ids(only_d, only_r)
    assert finding.details == {"only_in_dibao": [only_d.pk], "only_in_registry": [only_r.pk]}


def test_member_mismatch_when_the_registry_household_is_a_subset(ledgers):
    a, b = ledgers.person(), ledgers.person()
    ledgers.dibao(a, b)
    ledgers.registry(a, attribute=A.DIBAO)

    finding = item(reconcile(ledgers), C.MEMBER_MISMATCH)

    assert finding.details == {"only_in_dibao": [b.pk], "only_in_registry": []}


@pytest.mark.parametrize(
    ("_case", "status", "grace", "kind", "review"),
    [
        ("out_in_payment", S.OUT, None, BenefitKind.NORMAL, True),
        ("out_in_grace_period_dates", S.OUT, (date(2026, 5, 1), date(2026, 11, 1)), None, False),
        ("out_grace_ended_before_date", S.OUT, (date(2025, 5, 1), date(2026, 7, 1)), None, True),
        ("out_gradual_exit_benefit", S.OUT, None, BenefitKind.GRADUAL_EXIT, False),
        ("not_out", S.NOT_OUT, None, BenefitKind.NORMAL, False),
        ("returned", S.RETURNED, None, BenefitKind.NORMAL, False),
    ],
)
def test_should_exit_review_when_the_registry_says_out_and_no_gradual_exit(
    ledgers, _case, status, grace, kind, review
):
    a = ledgers.person()
    dibao = ledgers.dibao(a, grace=grace, period_kind=kind or BenefitKind.NORMAL)
    registry = ledgers.registry(a, attribute=A.DIBAO, status=status)

    run = reconcile(ledgers)

    expected = {(C.SHOULD_EXIT_REVIEW, pair_key(dibao, registry))} if review else set()
    assert found(run) == expected
    if review:
        assert item(run, C.SHOULD_EXIT_REVIEW).details == {
            "poverty_status": "已脱贫",
            "dibao_programme": "低保",
        }


def test_one_pair_can_fall_in_every_pair_category_at_once(ledgers):
    a, b, c = ledgers.person(), ledgers.person(), ledgers.person()
    dibao = ledgers.dibao(a, b, amount="460.00")
    registry = ledgers.registry(a, b, c, attribute=A.GENERAL, amount="300.00", status=S.OUT)

    run = reconcile(ledgers)

    key = pair_key(dibao, registry)
    assert found(run) == {
        (C.ATTR_MISMATCH, key),
        (C.AMOUNT_MISMATCH, key),
        (C.MEMBER_MISMATCH, key),
        (C.SHOULD_EXIT_REVIEW, key),
    }
    assert nonzero(run) == {
        C.ATTR_MISMATCH: 1,
        C.AMOUNT_MISMATCH: 1,
        C.MEMBER_MISMATCH: 1,
        C.SHOULD_EXIT_REVIEW: 1,
    }
    assert item(run, C.ATTR_MISMATCH).person_ids == ids(a, b)


# --- split households ------------------------------------------------------------------------


def test_a_dibao_household_linked_to_two_registry_households_is_split_and_gets_no_pair_items(
    ledgers,
):
    a, b = ledgers.person(), ledgers.person()
    dibao = ledgers.dibao(a, b, amount="460.00")
    first = ledgers.registry(a, attribute=A.GENERAL, amount="100.00", status=S.OUT)
    second = ledgers.registry(b, attribute=A.DIBAO)

    run = reconcile(ledgers)

    assert found(run) == {(C.SPLIT_HOUSEHOLD, f"D:{dibao.number}")}
    assert nonzero(run) == {C.SPLIT_HOUSEHOLD: 1}
    finding = item(run, C.SPLIT_HOUSEHOLD)
    assert finding.dibao_household == dibao
    assert finding.registry_household is None
    assert finding.dibao_numbers == [dibao.number]
    assert finding.registry_numbers == sorted([first.number, second.number])
    assert finding.person_ids == ids(a, b)
    assert finding.details == {"registry_households": sorted([first.number, second.number])}


def test_a_registry_household_linked_to_two_dibao_households_is_split_and_never_missing_or_protect(
    ledgers,
):
    a, b = ledgers.person(), ledgers.person()
    first = ledgers.dibao(a, income="100.00")
    second = ledgers.dibao(b, programme=Programme.TEKUN)
    registry = ledgers.registry(
        (a, LOST), (b, LOST), attribute=A.DIBAO, status=S.NOT_OUT, income="1000.00"
    )

    run = reconcile(ledgers)

    assert found(run) == {(C.SPLIT_HOUSEHOLD, f"R:{registry.number}")}
    finding = item(run, C.SPLIT_HOUSEHOLD)
    assert finding.registry_household == registry
    assert finding.dibao_household is None
    assert finding.dibao_numbers == sorted([first.number, second.number])
    assert finding.details == {"dibao_households": sorted([first.number, second.number])}


def test_split_on_both_sides_gives_one_item_per_household(ledgers):
    """D1 = {a, b}, R1 = {a}, R2 = {b, c}, D2 = {c}: D1 and R2 are both split."""
    a, b, c = ledgers.person(), ledgers.person(), ledgers.person()
    first_dibao = ledgers.dibao(a, b)
    ledgers.dibao(c)
    ledgers.registry(a, attribute=A.GENERAL)
    second_registry = ledgers.registry(b, c, attribute=A.DIBAO)

    run = reconcile(ledgers)

    assert found(run) == {
        (C.SPLIT_HOUSEHOLD, f"D:{first_dibao.number}"),
        (C.SPLIT_HOUSEHOLD, f"R:{second_registry.number}"),
    }


# --- registry households linked to no dibao household ----------------------------------------


@pytest.mark.parametrize(
    ("_case", "attribute", "missing"),
    [
        ("dibao", A.DIBAO, True),
        ("tekun", A.TEKUN, True),
        ("general", A.GENERAL, False),
        ("plain_dibao_household", A.DIBAO_ONLY, False),
    ],
)
def test_registry_dibao_missing_when_marked_dibao_or_tekun_but_not_paid(
    ledgers, _case, attribute, missing
):
    a, b = ledgers.person(), ledgers.person()
    registry = ledgers.registry(a, b, attribute=attribute)

    run = reconcile(ledgers)

    assert found(run) == ({(C.REGISTRY_DIBAO_MISSING, registry.number)} if missing else set())
    if missing:
        finding = item(run, C.REGISTRY_DIBAO_MISSING)
        assert finding.registry_household == registry
        assert finding.dibao_household is None
        assert finding.person_ids == ids(a, b)
        assert finding.registry_numbers == [registry.number]
        assert finding.dibao_numbers == []


def test_a_registry_household_linked_to_a_dibao_household_is_not_missing(ledgers):
    a = ledgers.person()
    ledgers.dibao(a)
    ledgers.registry(a, attribute=A.DIBAO)

    assert found(reconcile(ledgers)) == set()


@pytest.mark.parametrize(
    ("_case", "status", "income", "labours", "protect"),
    [
        ("not_out_poor_no_labour", S.NOT_OUT, "5519.99", (LOST, "none"), True),
        ("returned", S.RETURNED, "3000.00", (LOST,), True),
        ("weak_labour_is_no_labour", S.NOT_OUT, "3000.00", (WEAK, LOST), True),
        ("income_equal_to_standard", S.NOT_OUT, "5520.00", (LOST,), False),
        ("out_of_poverty", S.OUT, "3000.00", (LOST,), False),
        ("ordinary_labour", S.NOT_OUT, "3000.00", (LOST, ORDINARY), False),
        ("skilled_labour", S.NOT_OUT, "3000.00", (SKILLED,), False),
    ],
)
def test_should_protect_for_a_poor_registry_household_without_labour_and_below_the_standard(
    ledgers, _case, status, income, labours, protect
):
    persons = [(ledgers.person(), labour) for labour in labours]
    registry = ledgers.registry(*persons, attribute=A.GENERAL, status=status, income=income)

    run = reconcile(ledgers)

    assert found(run) == ({(C.SHOULD_PROTECT, registry.number)} if protect else set())
    if protect:
        assert item(run, C.SHOULD_PROTECT).details == {
            "poverty_status": S(status).label,
            "annual_income_per_capita": income,
            "standard_monthly": "460.00",
        }


def test_registry_dibao_missing_and_should_protect_both_apply_to_one_registry_household(ledgers):
    registry = ledgers.registry(
        (ledgers.person(), LOST), attribute=A.DIBAO, status=S.NOT_OUT, income="3000.00"
    )

    run = reconcile(ledgers)

    assert found(run) == {
        (C.REGISTRY_DIBAO_MISSING, registry.number),
        (C.SHOULD_PROTECT, registry.number),
    }


# --- dibao households linked to no registry household ----------------------------------------


@pytest.mark.parametrize(
    ("_case", "income", "register"),
    [("below_the_line", "333.33", True), ("at_the_line", "333.34", False)],
)
def test_should_register_when_the_dibao_household_is_below_the_poverty_line(
    ledgers, _case, income, register
):
    a = ledgers.person()
    dibao = ledgers.dibao(a, income=income)

    run = reconcile(ledgers)

    assert found(run) == ({(C.SHOULD_REGISTER, dibao.number)} if register else set())
    if register:
        finding = item(run, C.SHOULD_REGISTER)
        assert finding.dibao_household == dibao
        assert finding.person_ids == [a.pk]
        assert finding.details == {
            "income_per_capita_monthly": income,
            "poverty_line": "4000.00",
            "dibao_programme": "低保",
        }


def test_a_linked_dibao_household_is_never_should_register(ledgers):
    a = ledgers.person()
    ledgers.dibao(a, income="10.00")
    ledgers.registry(a, attribute=A.DIBAO)

    assert found(reconcile(ledgers)) == set()


# --- persons ---------------------------------------------------------------------------------


def test_duplicate_person_in_two_dibao_households_of_the_county(ledgers):
    twice = ledgers.person()
    first = ledgers.dibao(twice, ledgers.person())
    second = ledgers.dibao(twice, village=ledgers.areas.other_township_village)

    run = reconcile(ledgers)

    assert found(run) == {(C.DUPLICATE_PERSON, twice.id_number_hash)}
    finding = item(run, C.DUPLICATE_PERSON)
    assert finding.person_ids == [twice.pk]
    assert finding.dibao_numbers == sorted([first.number, second.number])
    assert finding.registry_numbers == []
    assert finding.dibao_household == min((first, second), key=lambda h: h.pk)
    assert finding.township == ledgers.areas.township
    assert finding.details == {
        "dibao_households": [
            f"土默特左旗 {number}（低保）" for number in sorted([first.number, second.number])
        ],
        "registry_households": [],
    }


def test_duplicate_person_across_counties_is_a_finding_in_each_county(ledgers):
    twice = ledgers.person()
    here = ledgers.dibao(twice)
    there = ledgers.dibao(twice, village=ledgers.areas.other_county_village)

    run_here = reconcile(ledgers)
    run_there = reconcile(ledgers, county=ledgers.areas.sibling_county)

    assert found(run_here) == {(C.DUPLICATE_PERSON, twice.id_number_hash)}
    assert found(run_there) == {(C.DUPLICATE_PERSON, twice.id_number_hash)}
    finding_here = item(run_here, C.DUPLICATE_PERSON)
    finding_there = item(run_there, C.DUPLICATE_PERSON)
    assert finding_here.pk != finding_there.pk
    assert (finding_here.dibao_household, finding_there.dibao_household) == (here, there)
    assert finding_here.dibao_numbers == [here.number]
    assert finding_there.township == ledgers.areas.other_county_township
    assert finding_here.details["dibao_households"] == [
        f"土默特左旗 {here.number}（低保）",
        f"托克托县 {there.number}（低保）",
    ]


def test_duplicate_person_in_two_registry_households_of_two_counties(ledgers):
    twice = ledgers.person()
    here = ledgers.registry(twice, ledgers.person())
    there = ledgers.registry(twice, village=ledgers.areas.other_county_village)

    run = reconcile(ledgers)

    assert found(run) == {(C.DUPLICATE_PERSON, twice.id_number_hash)}
    finding = item(run, C.DUPLICATE_PERSON)
    assert finding.registry_household == here
    assert finding.dibao_household is None
    assert finding.registry_numbers == [here.number]
    assert finding.details == {
        "dibao_households": [],
        "registry_households": [f"土默特左旗 {here.number}", f"托克托县 {there.number}"],
    }


def test_one_dibao_and_one_registry_membership_is_no_duplicate(ledgers):
    a = ledgers.person()
    ledgers.dibao(a)
    ledgers.registry(a, attribute=A.DIBAO)
    ledgers.registry(ledgers.person(), village=ledgers.areas.other_county_village)

    assert found(reconcile(ledgers)) == set()


def test_a_duplicate_elsewhere_is_not_a_finding_of_a_county_holding_the_person_once(ledgers):
    """The person is in this county's registry only; the two dibao households are elsewhere."""
    twice = ledgers.person()
    ledgers.registry(twice)
    ledgers.dibao(twice, village=ledgers.areas.other_county_village)
    ledgers.dibao(twice, village=ledgers.areas.other_county_village)

    assert found(reconcile(ledgers)) == set()
    assert found(reconcile(ledgers, county=ledgers.areas.sibling_county)) == {
        (C.DUPLICATE_PERSON, twice.id_number_hash)
    }


def test_dibao_and_tekun_for_a_person_paid_by_both_programmes(ledgers):
    both = ledgers.person()
    dibao = ledgers.dibao(both, ledgers.person())
    tekun = ledgers.dibao(both, programme=Programme.TEKUN)

    run = reconcile(ledgers)

    assert found(run) == {
        (C.DIBAO_AND_TEKUN, both.id_number_hash),
        (C.DUPLICATE_PERSON, both.id_number_hash),
    }
    finding = item(run, C.DIBAO_AND_TEKUN)
    assert finding.person_ids == [both.pk]
    assert finding.registry_numbers == []
    assert finding.details == {
        "dibao_households": sorted(
            [f"土默特左旗 {dibao.number}（低保）", f"土默特左旗 {tekun.number}（特困供养）"]
        )
    }


def test_dibao_and_tekun_across_counties(ledgers):
    both = ledgers.person()
    ledgers.dibao(both, programme=Programme.TEKUN)
    ledgers.dibao(both, village=ledgers.areas.other_county_village)

    run = reconcile(ledgers)

    assert (C.DIBAO_AND_TEKUN, both.id_number_hash) in found(run)


def test_two_dibao_households_of_one_programme_are_no_dibao_and_tekun(ledgers):
    twice = ledgers.person()
    ledgers.dibao(twice, programme=Programme.TEKUN)
    ledgers.dibao(twice, programme=Programme.TEKUN)

    assert found(reconcile(ledgers)) == {(C.DUPLICATE_PERSON, twice.id_number_hash)}


def test_a_person_item_belongs_to_the_township_of_the_registry_household_without_dibao(ledgers):
    twice = ledgers.person()
    ledgers.registry(twice, village=ledgers.areas.other_township_village)
    ledgers.registry(twice, village=ledgers.areas.other_county_village)

    finding = item(reconcile(ledgers), C.DUPLICATE_PERSON)

    assert finding.township == ledgers.areas.sibling_township


# --- township attribution --------------------------------------------------------------------


def test_a_pair_item_belongs_to_the_township_of_the_dibao_household(ledgers):
    a = ledgers.person()
    ledgers.dibao(a, village=ledgers.areas.other_township_village)
    ledgers.registry(a, attribute=A.GENERAL, village=ledgers.areas.village)

    assert item(reconcile(ledgers), C.ATTR_MISMATCH).township == ledgers.areas.sibling_township


# --- which households are in the ledgers on the as-of date -----------------------------------


@pytest.mark.parametrize(
    ("_case", "options", "in_roster"),
    [
        ("open_period", {}, True),
        ("period_ended_in_the_month", {"period_end": date(2026, 7, 1)}, True),
        ("period_ended_before", {"period_end": date(2026, 6, 1)}, False),
        ("period_starts_after", {"period_start": date(2026, 8, 1)}, False),
        ("suspended", {"suspended": True}, False),
        ("no_period_history_paid_status", {"period": False}, True),
        (
            "no_period_history_gradual_exit",
            {"period": False, "status": HouseholdStatus.GRADUAL_EXIT},
            True,
        ),
        (
            "no_period_history_stopped",
            {"period": False, "status": HouseholdStatus.STOPPED},
            False,
        ),
        (
            "stopped_after_the_date",
            {"status": HouseholdStatus.STOPPED, "period_end": date(2026, 8, 1)},
            True,
        ),
    ],
)
def test_the_dibao_roster_holds_the_households_in_payment_on_the_date(
    ledgers, _case, options, in_roster
):
    dibao = ledgers.dibao(ledgers.person(), income="100.00", **options)

    run = reconcile(ledgers)

    assert found(run) == ({(C.SHOULD_REGISTER, dibao.number)} if in_roster else set())
    assert run.dibao_households == (1 if in_roster else 0)


def test_members_who_left_before_the_date_are_not_members(ledgers):
    a, gone, later = ledgers.person(), ledgers.person(), ledgers.person()
    ledgers.dibao(a, gone, later, left={gone.pk: date(2026, 6, 30), later.pk: date(2026, 7, 2)})
    ledgers.registry(a, later, attribute=A.DIBAO)

    run = reconcile(ledgers)

    assert found(run) == set()
    assert nonzero(run) == {C.LINKED: 1}


def test_the_registry_is_the_snapshot_in_force_on_the_date(ledgers):
    a = ledgers.person()
    ledgers.dibao(a)
    old = ledgers.registry(a, attribute=A.DIBAO)
    ledgers.snapshot(on=date(2026, 6, 20))
    current = ledgers.registry(ledgers.person(), attribute=A.TEKUN)
    ledgers.snapshot(on=date(2026, 7, 2))
    ledgers.registry(a, number=old.number, attribute=A.GENERAL)

    run = reconcile(ledgers)

    # ``old`` left the registry with the 20 June export; the 2 July export is after the date
    assert found(run) == {(C.REGISTRY_DIBAO_MISSING, current.number)}
    assert run.registry_households == 1
    assert run.registry_snapshot_id == current.last_snapshot_id


def test_a_partial_push_after_the_full_snapshot_updates_its_households(ledgers):
    a = ledgers.person()
    dibao = ledgers.dibao(a)
    registry = ledgers.registry(a, attribute=A.DIBAO)
    untouched = ledgers.registry(ledgers.person(), attribute=A.TEKUN)
    ledgers.snapshot(on=date(2026, 6, 15), partial=True)
    ledgers.registry(a, number=registry.number, attribute=A.GENERAL)

    run = reconcile(ledgers)

    assert found(run) == {
        (C.ATTR_MISMATCH, pair_key(dibao, registry)),
        (C.REGISTRY_DIBAO_MISSING, untouched.number),
    }
