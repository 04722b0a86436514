"""Registry households and paid households for the linkage tests, built with the ORM.

- ``make_registry`` builds an in-registry household (snapshot → household → members) in a
  village; members are ``RegistryPerson`` specs, and persons come from ``person_upsert`` so that a
  cases household registered with the same ID numbers shares them.
- ``make_paid`` builds a dibao/特困 household in payment (status, members ``in_payment=True`` and a
  benefit period) without the workflow, so that no approval gate is involved.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from itertools import count

import pytest

from cases.choices import HouseholdStatus, LabourCapacity, Programme, Relation
from cases.models import BenefitPeriod, Household, HouseholdMember, PovertyLine
from lowbao.people.models import Person
from lowbao.people.services import person_upsert
from poverty.choices import PovertyAttribute, PovertyCause, PovertyStatus
from poverty.models import RegistryHousehold, RegistryMember, RegistrySnapshot
from tests.lowbao.people.factories import make_id_number

_numbers = count(1)
SNAPSHOT_DATE = date(2026, 10, 1)


@dataclass(frozen=True)
class RegistryPerson:
    relation: str = Relation.HEAD
    labour_capacity: str = LabourCapacity.LOST
    health: str = ""
    id_number: str = ""
    name: str = ""


def person(id_number: str = "", name: str = "") -> Person:
    id_number = id_number or make_id_number()
    found, _ = person_upsert(actor=None, id_number=id_number, name=name or f"人员{id_number[-4:]}")
    return found


MakeRegistry = Callable[..., RegistryHousehold]
MakePaid = Callable[..., Household]


@pytest.fixture
def make_registry(areas) -> MakeRegistry:
    snapshots: dict[int, RegistrySnapshot] = {}

    def _make(
        *,
        village=None,
        members: list[RegistryPerson] | None = None,
        number: str = "",
        in_registry: bool = True,
        poverty_status: str = PovertyStatus.NOT_OUT,
        income: str = "2000",
        attribute: str = PovertyAttribute.GENERAL,
    ) -> RegistryHousehold:
        village = village or areas.village
        county = village.parent.parent
        snapshot = snapshots.get(county.pk)
        if snapshot is None:
            snapshot = snapshots[county.pk] = RegistrySnapshot.objects.create(
                county=county,
                snapshot_date=SNAPSHOT_DATE,
                source="import",
                content_hash="tests",
            )
        household = RegistryHousehold.objects.create(
            county=county,
            area=village,
            number=number or f"PK{next(_numbers):06d}",
            attribute=attribute,
            main_cause=PovertyCause.DISABILITY,
            poverty_status=poverty_status,
            annual_income_per_capita=Decimal(income),
            in_registry=in_registry,
            first_snapshot=snapshot,
            last_snapshot=snapshot,
        )
        for spec in members if members is not None else [RegistryPerson()]:
            RegistryMember.objects.create(
                household=household,
                person=person(spec.id_number, spec.name),
                relation=spec.relation,
                labour_capacity=spec.labour_capacity,
                health=spec.health,
            )
        return household

    return _make


@pytest.fixture
def make_paid(areas) -> MakePaid:
    """``make_paid(persons=[...], village=…, income="200")``: the first person is the head."""

    def _make(
        *,
        persons: list[Person] | None = None,
        village=None,
        programme: str = Programme.DIBAO,
        income: str = "200",
        status: str = HouseholdStatus.IN_PAYMENT,
        number: str = "",
        is_close_relative_case: bool = False,
    ) -> Household:
        village = village or areas.village
        paying = status in (HouseholdStatus.IN_PAYMENT, HouseholdStatus.GRADUAL_EXIT)
        household = Household.objects.create(
            area=village,
            county=village.parent.parent,
            programme=programme,
            number=number or f"DB{next(_numbers):06d}",
            status=status,
            monthly_amount=Decimal("300"),
            per_capita_income_monthly=Decimal(income),
            payment_start_month=date(2026, 1, 1) if paying else None,
            is_close_relative_case=is_close_relative_case,
        )
        for index, member_person in enumerate(persons or [person()]):
            HouseholdMember.objects.create(
                household=household,
                person=member_person,
                relation=Relation.HEAD if index == 0 else Relation.SPOUSE,
                labour_capacity=LabourCapacity.LOST,
                in_payment=paying,
            )
        if paying:
            BenefitPeriod.objects.create(
                household=household,
                start_month=date(2026, 1, 1),
                monthly_amount=Decimal("300"),
                covered_persons=len(persons or [None]),
                reason="tests",
            )
        return household

    return _make


@pytest.fixture
def poverty_line_2026(policy_defaults) -> PovertyLine:
    line, _ = PovertyLine.objects.update_or_create(
        year=2026, defaults={"annual_amount": Decimal("3000.00"), "source": "tests"}
    )
    return line


def registry_persons(household: RegistryHousehold) -> list[Person]:
    return [m.person for m in household.members.select_related("person").order_by("relation", "pk")]
