"""Person: one row per natural person, keyed by the blind index of the ID number (S4).

There is no plain ID-number column and no masked one: the masked value (first 6, last 4) plus
``birth_date`` would give the full number back. Lists show ``id_number_masked``; the full value is
only ever decrypted in memory.
"""

from django.db import models
from django.db.models.functions import Length
from django.db.models.lookups import Exact

from lowbao.core.models import BaseModel
from lowbao.people.choices import Ethnicity, Sex
from lowbao.people.masking import mask_id_number, mask_phone
from lowbao.people.protection import decrypt


class Person(BaseModel):
    id_number_hash = models.CharField(
        "身份证号索引",
        max_length=64,
        unique=True,
        editable=False,
        help_text="身份证号的keyed hash（盲索引），用于精确查找、唯一性和关联",
    )
    id_number_ciphertext = models.TextField("身份证号（密文）", editable=False)
    name = models.CharField("姓名", max_length=50)
    sex = models.CharField("性别", max_length=1, choices=Sex.choices)
    birth_date = models.DateField("出生日期")
    ethnicity = models.CharField(
        "民族", max_length=2, choices=Ethnicity.choices, blank=True, default=""
    )
    phone_ciphertext = models.TextField("联系电话（密文）", blank=True, default="", editable=False)

    class Meta:
        verbose_name = "人员"
        verbose_name_plural = "人员"
        constraints = [
            models.CheckConstraint(
                condition=Exact(Length("id_number_hash"), 64),
                name="people_person_id_number_hash_length",
            ),
            models.CheckConstraint(
                condition=~models.Q(id_number_ciphertext=""),
                name="people_person_id_number_ciphertext_not_empty",
            ),
            models.CheckConstraint(
                condition=models.Q(sex__in=Sex.values),
                name="people_person_sex_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(ethnicity="") | models.Q(ethnicity__in=Ethnicity.values),
                name="people_person_ethnicity_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.id_number_masked}）"

    @property
    def id_number(self) -> str:
        """The full ID number (decrypted in memory). Showing it to a user needs a permission."""
        return decrypt(self.id_number_ciphertext)

    @property
    def id_number_masked(self) -> str:
        return mask_id_number(self.id_number)

    @property
    def phone(self) -> str:
        return decrypt(self.phone_ciphertext) if self.phone_ciphertext else ""

    @property
    def phone_masked(self) -> str:
        return mask_phone(self.phone)
