"""Reads of people.

Person has no area of its own: these selectors are for services (imports, reconciliation,
de-duplication). Anything shown to a user goes through an area-scoped selector of the household
or case the person belongs to (quality.md S1).
"""

from lowbao.people.id_numbers import IdNumberError, parse_id_number
from lowbao.people.models import Person
from lowbao.people.protection import id_number_blind_index


def person_get_by_id_number(*, id_number: str) -> Person | None:
    """The person with this ID number (any accepted spelling: 15 digits, full-width, lower x).

    An invalid number cannot belong to anyone, so it gives ``None`` rather than an error.
    """
    try:
        parsed = parse_id_number(id_number)
    except IdNumberError:
        return None
    return Person.objects.filter(id_number_hash=id_number_blind_index(parsed.value)).first()
