from datetime import date

import pytest
from django.db import connection

from lowbao.audit.models import AuditEvent
from lowbao.core.errors import DomainError
from lowbao.people.models import Person
from lowbao.people.services import person_upsert

pytestmark = pytest.mark.django_db

ID_NUMBER = "34052419800101001X"


def _all_stored_values() -> list[str]:
    """Every column of every people_person row, as the database returns it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM people_person")
        return [str(value) for row in cursor.fetchall() for value in row]


def test_first_upsert_creates_the_person_with_derived_fields():
    person, created = person_upsert(
        actor=None, id_number=ID_NUMBER, name="张三", ethnicity="02", phone="13800138000"
    )

    person.refresh_from_db()
    assert created is True
    assert (person.name, person.sex, person.birth_date, person.ethnicity) == (
        "张三",
        "男",
        date(1980, 1, 1),
        "02",
    )
    assert person.id_number == ID_NUMBER
    assert person.id_number_masked == "340524********001X"
    assert person.phone == "13800138000"


def test_second_upsert_updates_the_same_person():
    first, _ = person_upsert(actor=None, id_number=ID_NUMBER, name="张三", ethnicity="01")

    second, created = person_upsert(
        actor=None, id_number="340524800101001", name="张 三丰", ethnicity="02"
    )

    assert created is False
    assert second.pk == first.pk
    assert Person.objects.count() == 1
    assert Person.objects.values_list("name", "ethnicity").get() == ("张 三丰", "02")


@pytest.mark.parametrize(
    ("_case", "spelling"),
    [
        ("lower_x", "34052419800101001x"),
        ("full_width", "３４０５２４１９８００１０１００１Ｘ"),
        ("fifteen_digits", "340524800101001"),
        ("spaces", " 340524 19800101 001X "),
    ],
)
def test_every_spelling_of_the_number_finds_the_same_person(_case, spelling):
    person_upsert(actor=None, id_number=ID_NUMBER, name="张三")

    _person, created = person_upsert(actor=None, id_number=spelling, name="张三")

    assert created is False
    assert Person.objects.count() == 1


def test_plain_id_number_is_stored_nowhere_in_the_row():
    person_upsert(actor=None, id_number=ID_NUMBER, name="张三", phone="13800138000")

    stored = _all_stored_values()

    assert stored  # the row is there
    for value in stored:
        assert ID_NUMBER not in value.upper()
        assert ID_NUMBER[:17] not in value
        assert "340524800101001" not in value
        assert "340524********001X" not in value
        assert "13800138000" not in value


def test_create_is_audited_with_masked_values_only():
    person, _ = person_upsert(
        actor=None, id_number=ID_NUMBER, name="张三", ethnicity="01", phone="13800138000"
    )

    event = AuditEvent.objects.get()
    assert (event.action, event.object_type, event.object_id) == (
        "person.create",
        "people.person",
        str(person.pk),
    )
    assert event.changes == {
        "id_number": [None, "340524********001X"],
        "name": [None, "张三"],
        "sex": [None, "男"],
        "ethnicity": [None, "01"],
        "phone": [None, "138****8000"],
    }


def test_update_is_audited_with_before_and_after():
    person_upsert(actor=None, id_number=ID_NUMBER, name="张三", phone="13800138000")

    person_upsert(actor=None, id_number=ID_NUMBER, name="李四", phone="13900139000")

    event = AuditEvent.objects.order_by("seq").last()
    assert event.action == "person.update"
    assert event.changes == {"name": ["张三", "李四"], "phone": ["138****8000", "139****9000"]}


def test_unchanged_upsert_writes_nothing():
    person, _ = person_upsert(actor=None, id_number=ID_NUMBER, name="张三", ethnicity="01")
    updated_at = Person.objects.get().updated_at

    again, created = person_upsert(actor=None, id_number=ID_NUMBER, name=" 张三 ", ethnicity="01")

    assert (again.pk, created) == (person.pk, False)
    assert Person.objects.get().updated_at == updated_at
    assert AuditEvent.objects.count() == 1


def test_empty_optional_values_keep_what_is_stored():
    person_upsert(actor=None, id_number=ID_NUMBER, name="张三", ethnicity="02", phone="13800138000")

    person, _ = person_upsert(actor=None, id_number=ID_NUMBER, name="张三")

    person.refresh_from_db()
    assert (person.ethnicity, person.phone) == ("02", "13800138000")


@pytest.mark.parametrize(
    ("_case", "id_number", "code", "message"),
    [
        ("checksum", "360426199101010072", "id_checksum", "身份证号校验位错误"),
        ("missing", "", "id_missing", "身份证号不能为空"),
        ("feb_30", "150121199102300016", "id_birthdate", "身份证号中的出生日期不是有效日期"),
    ],
)
def test_invalid_id_number_is_refused_and_nothing_is_written(_case, id_number, code, message):
    with pytest.raises(DomainError) as excinfo:
        person_upsert(actor=None, id_number=id_number, name="张三")

    assert (excinfo.value.code, excinfo.value.message) == (code, message)
    assert excinfo.value.fields == {"id_number": message}
    assert Person.objects.count() == 0
    assert AuditEvent.objects.count() == 0


@pytest.mark.parametrize(
    ("_case", "name", "ethnicity", "code"),
    [
        ("empty_name", "  ", "01", "name_missing"),
        ("long_name", "张" * 51, "01", "name_too_long"),
        ("unknown_ethnicity", "张三", "57", "ethnicity_invalid"),
        ("ethnicity_by_name", "张三", "汉族", "ethnicity_invalid"),
    ],
)
def test_invalid_person_fields_are_refused(_case, name, ethnicity, code):
    with pytest.raises(DomainError) as excinfo:
        person_upsert(actor=None, id_number=ID_NUMBER, name=name, ethnicity=ethnicity)

    assert excinfo.value.code == code
    assert Person.objects.count() == 0


def test_acting_user_is_recorded(django_user_model):
    user = django_user_model.objects.create_user(username="caseworker", password="x" * 12)

    person_upsert(actor=user, id_number=ID_NUMBER, name="张三")

    assert AuditEvent.objects.values_list("actor_id", "actor_label").get() == (
        user.pk,
        "caseworker",
    )
