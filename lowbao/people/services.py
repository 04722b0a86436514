"""Writes to people. Every Person row is created or changed here (style B.3)."""

import unicodedata
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction

from lowbao.audit.services import record
from lowbao.core.errors import DomainError
from lowbao.people.choices import Ethnicity
from lowbao.people.errors import PeopleErrorCode
from lowbao.people.id_numbers import IdNumberError, parse_id_number
from lowbao.people.masking import mask_id_number, mask_phone
from lowbao.people.models import Person
from lowbao.people.protection import decrypt, encrypt, id_number_blind_index

if TYPE_CHECKING:
    from lowbao.accounts.models import User

NAME_MAX_LENGTH = Person._meta.get_field("name").max_length


def _clean_text(value: str) -> str:
    return unicodedata.normalize("NFKC", value or "").strip()


def _validated_name(name: str) -> str:
    cleaned = " ".join(_clean_text(name).split())
    if not cleaned:
        raise DomainError(
            code=PeopleErrorCode.NAME_MISSING,
            message="姓名不能为空",
            fields={"name": "姓名不能为空"},
        )
    if NAME_MAX_LENGTH is not None and len(cleaned) > NAME_MAX_LENGTH:
        message = f"姓名不能超过{NAME_MAX_LENGTH}个字"
        raise DomainError(
            code=PeopleErrorCode.NAME_TOO_LONG, message=message, fields={"name": message}
        )
    return cleaned


def _validated_ethnicity(ethnicity: str) -> str:
    cleaned = _clean_text(ethnicity)
    if cleaned and cleaned not in Ethnicity.values:
        message = "民族代码无效（应为 GB/T 3304 的两位代码，如 01 汉族、02 蒙古族）"
        raise DomainError(
            code=PeopleErrorCode.ETHNICITY_INVALID, message=message, fields={"ethnicity": message}
        )
    return cleaned


@transaction.atomic
def person_upsert(
    *,
    actor: "User | None",
    id_number: str,
    name: str,
    ethnicity: str = "",
    phone: str = "",
) -> tuple[Person, bool]:
    """Create the person with this ID number, or update their name, ethnicity and phone.

    Sex and birth date are derived from the ID number, so they never change for an existing row.
    An empty ``ethnicity`` or ``phone`` means "not given" (ledgers.md §1) and keeps the stored
    value. Returns ``(person, created)``; an update that changes nothing writes nothing.
    Audit entries carry masked values only, and never the birth date (masked ID + birth date =
    the full number).
    """
    try:
        parsed = parse_id_number(id_number)
    except IdNumberError as exc:
        raise DomainError(
            code=PeopleErrorCode(exc.code), message=exc.message, fields={"id_number": exc.message}
        ) from None
    name = _validated_name(name)
    ethnicity = _validated_ethnicity(ethnicity)
    phone = _clean_text(phone)
    id_number_hash = id_number_blind_index(parsed.value)

    person = Person.objects.select_for_update().filter(id_number_hash=id_number_hash).first()
    if person is None:
        try:
            with transaction.atomic():
                person = Person.objects.create(
                    id_number_hash=id_number_hash,
                    id_number_ciphertext=encrypt(parsed.value),
                    name=name,
                    sex=parsed.sex,
                    birth_date=parsed.birth_date,
                    ethnicity=ethnicity,
                    phone_ciphertext=encrypt(phone) if phone else "",
                )
        except IntegrityError:
            # A concurrent upsert may have created the row between our lookup and our insert.
            person = (
                Person.objects.select_for_update().filter(id_number_hash=id_number_hash).first()
            )
            if person is None:
                raise
        else:
            record(
                actor=actor,
                action="person.create",
                obj=person,
                changes={
                    "id_number": [None, mask_id_number(parsed.value)],
                    "name": [None, name],
                    "sex": [None, parsed.sex],
                    "ethnicity": [None, ethnicity],
                    "phone": [None, mask_phone(phone) if phone else ""],
                },
            )
            return person, True

    changes: dict[str, list[str]] = {}
    update_fields: list[str] = []
    if person.name != name:
        changes["name"] = [person.name, name]
        person.name = name
        update_fields.append("name")
    if ethnicity and person.ethnicity != ethnicity:
        changes["ethnicity"] = [person.ethnicity, ethnicity]
        person.ethnicity = ethnicity
        update_fields.append("ethnicity")
    if phone:
        old_phone = decrypt(person.phone_ciphertext) if person.phone_ciphertext else ""
        if old_phone != phone:
            changes["phone"] = [mask_phone(old_phone) if old_phone else "", mask_phone(phone)]
            person.phone_ciphertext = encrypt(phone)
            update_fields.append("phone_ciphertext")
    if update_fields:
        person.save(update_fields=[*update_fields, "updated_at"])
        record(actor=actor, action="person.update", obj=person, changes=changes)
    return person, False
