import pytest

from lowbao.people.models import Person
from tests.lowbao.people.factories import PersonFactory

pytestmark = pytest.mark.django_db


def test_person_decrypts_and_masks_the_id_number():
    person = PersonFactory(id_number="34052419800101001x", name="张三")

    person = Person.objects.get(pk=person.pk)

    assert person.id_number == "34052419800101001X"
    assert person.id_number_masked == "340524********001X"
    assert str(person) == "张三（340524********001X）"


def test_person_without_phone_has_empty_phone():
    person = PersonFactory()

    assert (person.phone, person.phone_masked) == ("", "")


def test_person_has_no_plain_or_masked_id_number_column():
    column_names = {field.column for field in Person._meta.concrete_fields}

    assert column_names == {
        "id",
        "created_at",
        "updated_at",
        "id_number_hash",
        "id_number_ciphertext",
        "name",
        "sex",
        "birth_date",
        "ethnicity",
        "phone_ciphertext",
    }
