import pytest

from lowbao.people.selectors import person_get_by_id_number
from tests.lowbao.people.factories import PersonFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("_case", "spelling"),
    [
        ("normalised", "34052419800101001X"),
        ("lower_x", "34052419800101001x"),
        ("full_width", "３４０５２４１９８００１０１００１Ｘ"),
        ("fifteen_digits", "340524800101001"),
    ],
)
def test_person_is_found_by_any_spelling_of_the_id_number(_case, spelling):
    person = PersonFactory(id_number="34052419800101001X")
    PersonFactory()

    assert person_get_by_id_number(id_number=spelling) == person


@pytest.mark.parametrize(
    ("_case", "id_number"),
    [
        ("unknown_valid", "360426199101010071"),
        ("invalid_checksum", "34052419800101001 3"),
        ("empty", ""),
    ],
)
def test_no_person_for_unknown_or_invalid_numbers(_case, id_number):
    PersonFactory(id_number="34052419800101001X")

    assert person_get_by_id_number(id_number=id_number) is None


def test_lookup_is_one_query(django_assert_num_queries):
    PersonFactory(id_number="34052419800101001X")

    with django_assert_num_queries(1):
        person_get_by_id_number(id_number="34052419800101001X")
