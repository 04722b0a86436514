"""Test data for people: valid ID numbers and Person rows.

``make_id_number`` is the one generator other test modules import
(``from tests.lowbao.people.factories import make_id_number``).
"""

import itertools
from datetime import date, timedelta

import factory
from factory.django import DjangoModelFactory

from lowbao.people.choices import Ethnicity, Sex
from lowbao.people.id_numbers import compute_check_char, parse_id_number
from lowbao.people.models import Person
from lowbao.people.protection import encrypt, id_number_blind_index

_counter = itertools.count(1)
_issued: set[str] = set()  # numbers generated with a drawn sequence, in this process

# Birth dates spread over 1940-01-01 … 2008-06-11 (25000 days). 7919 is prime and does not divide
# 25000, so the first 25000 generated numbers all have different birth dates, hence are unique.
_FIRST_BIRTH_DATE = date(1940, 1, 1)
_BIRTH_DATE_SPAN_DAYS = 25_000
_BIRTH_DATE_STRIDE = 7919
SEQUENCES = 499  # drawn sequences per birth date and sex


def make_id_number(
    *,
    area_prefix: str = "150121",
    birth_date: date | None = None,
    sex: str | None = None,
    seq: int | None = None,
) -> str:
    """A valid, normalised 18-character ID number; unique across calls unless pinned down.

    ``seq`` is the 3-digit sequence (0–999); its parity is the sex (odd 男, even 女). Passing both
    ``sex`` and a ``seq`` of the other parity is an error.
    """
    if len(area_prefix) != 6 or not area_prefix.isdigit():
        raise ValueError("area_prefix must be 6 digits")
    if seq is not None:
        return _id_number(area_prefix, birth_date or _birth_date(next(_counter)), seq, sex)
    # A pinned birth date with a generated sequence can meet a number generated earlier: try the
    # next sequences (a pinned date and sex have 499) until the number is new to this process.
    n = next(_counter)
    born = birth_date or _birth_date(n)
    first = ""
    for offset in range(SEQUENCES):
        seq = ((n + offset) % SEQUENCES) * 2 + 1  # odd, 1..997
        if sex == Sex.FEMALE:
            seq += 1
        number = _id_number(area_prefix, born, seq, sex)
        if number not in _issued:
            _issued.add(number)
            return number
        first = first or number
    return first  # every sequence of this date and sex taken: the counter's, as before


def _birth_date(n: int) -> date:
    return _FIRST_BIRTH_DATE + timedelta(days=(n * _BIRTH_DATE_STRIDE) % _BIRTH_DATE_SPAN_DAYS)


def _id_number(area_prefix: str, birth_date: date, seq: int, sex: str | None) -> str:
    if not 0 <= seq <= 999:
        raise ValueError("seq must be 0..999")
    if sex is not None and (seq % 2 == 1) != (sex == Sex.MALE):
        raise ValueError(f"seq {seq} does not match sex {sex}")
    body = f"{area_prefix}{birth_date:%Y%m%d}{seq:03d}"
    return body + compute_check_char(body)


class PersonFactory(DjangoModelFactory):
    """A Person with protected fields filled like ``person_upsert`` does (no audit event).

    Pass ``id_number=...`` (any accepted spelling) or ``phone=...`` to pin them down.
    """

    class Meta:
        model = Person
        skip_postgeneration_save = True

    class Params:
        id_number = factory.LazyFunction(make_id_number)
        phone = ""
        parsed = factory.LazyAttribute(lambda o: parse_id_number(o.id_number))

    id_number_hash = factory.LazyAttribute(lambda o: id_number_blind_index(o.parsed.value))
    id_number_ciphertext = factory.LazyAttribute(lambda o: encrypt(o.parsed.value))
    name = factory.Faker("name", locale="zh_CN")
    sex = factory.LazyAttribute(lambda o: o.parsed.sex)
    birth_date = factory.LazyAttribute(lambda o: o.parsed.birth_date)
    ethnicity = Ethnicity.HAN
    phone_ciphertext = factory.LazyAttribute(lambda o: encrypt(o.phone) if o.phone else "")
