import pytest
from django.contrib.admin.sites import site
from django.urls import reverse
from django.utils import timezone

from lowbao.people.models import Person
from tests.lowbao.people.factories import PersonFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def person_admin():
    return site._registry[Person]


def test_admin_search_by_exact_id_number_uses_the_blind_index(person_admin, rf):
    person = PersonFactory(id_number="34052419800101001X")
    PersonFactory()

    queryset, may_have_duplicates = person_admin.get_search_results(
        rf.get("/"), Person.objects.all(), "34052419800101001x"
    )

    assert list(queryset) == [person]
    assert may_have_duplicates is False


def test_admin_search_by_name_falls_back_to_the_name(person_admin, rf):
    person = PersonFactory(name="乌云其木格")
    PersonFactory(name="张三")

    queryset, _ = person_admin.get_search_results(rf.get("/"), Person.objects.all(), "其木格")

    assert list(queryset) == [person]


@pytest.fixture
def superuser_client(client, django_user_model):
    user = django_user_model.objects.create_superuser(
        username="root",
        password="x" * 12,
        must_change_password=False,
        password_changed_at=timezone.now(),
    )
    client.force_login(user)
    return client


@pytest.mark.parametrize("_case", ["changelist", "change_view"])
def test_admin_pages_show_only_masked_numbers_and_birth_years(_case, superuser_client):
    person = PersonFactory(id_number="34052419800101001X", name="张三")
    url = (
        reverse("admin:people_person_changelist")
        if _case == "changelist"
        else reverse("admin:people_person_change", args=[person.pk])
    )

    response = superuser_client.get(url)

    content = response.content.decode()
    assert response.status_code == 200
    assert "340524********001X" in content
    assert "34052419800101001X" not in content
    assert "1980-01-01" not in content
    assert "1980年1月1日" not in content


def test_admin_offers_no_add_change_or_delete(person_admin, admin_user, rf):
    request = rf.get("/")
    request.user = admin_user

    assert person_admin.has_add_permission(request) is False
    assert person_admin.has_change_permission(request) is False
    assert person_admin.has_delete_permission(request) is False
