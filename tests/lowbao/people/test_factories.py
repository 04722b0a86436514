import itertools
from datetime import date

import pytest

from lowbao.people.id_numbers import parse_id_number
from tests.lowbao.people.factories import PersonFactory, make_id_number


def test_generated_numbers_are_valid_and_unique():
    numbers = [make_id_number() for _ in range(2000)]

    assert len(set(numbers)) == 2000
    assert all(parse_id_number(number).value == number for number in numbers)
    assert {number[:6] for number in numbers} == {"150121"}


@pytest.mark.parametrize(
    ("_case", "kwargs", "expected_prefix", "expected_sex"),
    [
        ("female", {"sex": "女"}, "150121", "女"),
        ("male", {"sex": "男"}, "150121", "男"),
        ("other_area", {"area_prefix": "150102"}, "150102", "男"),
        ("seq_even", {"seq": 8}, "150121", "女"),
    ],
)
def test_make_id_number_honours_its_arguments(_case, kwargs, expected_prefix, expected_sex):
    parsed = parse_id_number(make_id_number(birth_date=date(1990, 5, 17), **kwargs))

    assert (parsed.area_prefix, parsed.birth_date, parsed.sex) == (
        expected_prefix,
        date(1990, 5, 17),
        expected_sex,
    )


def test_make_id_number_with_everything_pinned_is_deterministic():
    assert make_id_number(birth_date=date(1980, 1, 1), seq=1, area_prefix="340524") == (
        "34052419800101001X"
    )


def test_make_id_number_refuses_contradicting_sex_and_seq():
    with pytest.raises(ValueError, match="does not match"):
        make_id_number(sex="男", seq=2)


@pytest.mark.django_db
def test_person_factory_fills_protected_fields_like_the_service():
    person = PersonFactory(id_number="340524800101001", phone="13800138000")

    assert (person.id_number, person.sex, person.birth_date, person.phone) == (
        "34052419800101001X",
        "男",
        date(1980, 1, 1),
        "13800138000",
    )


def test_a_pinned_birth_date_and_sex_give_new_numbers_until_their_sequences_run_out():
    numbers = [make_id_number(birth_date=date(1955, 7, 19), sex="女") for _ in range(520)]

    assert len(set(numbers[:499])) == 499
    assert set(numbers[499:]) <= set(numbers[:499])  # then repeats, instead of drawing forever
    assert all(a != b for a, b in itertools.pairwise(numbers[499:]))
