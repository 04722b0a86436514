import pytest
from django import forms
from django.core.exceptions import ValidationError
from rest_framework import serializers

from lowbao.people.api.fields import IdNumberSerializerField
from lowbao.people.id_numbers import IdNumberFormField, validate_id_number


def test_validator_accepts_any_valid_spelling():
    assert validate_id_number("３４０５２４１９８００１０１００１ｘ") is None


@pytest.mark.parametrize(
    ("_case", "value", "code", "message"),
    [
        ("checksum", "360426199101010072", "id_checksum", "身份证号校验位错误"),
        ("empty", "", "id_missing", "身份证号不能为空"),
        ("feb_30", "150121199102300016", "id_birthdate", "身份证号中的出生日期不是有效日期"),
    ],
)
def test_validator_raises_django_validation_error_with_code(_case, value, code, message):
    with pytest.raises(ValidationError) as excinfo:
        validate_id_number(value)

    assert excinfo.value.code == code
    assert excinfo.value.messages == [message]


class _PersonForm(forms.Form):
    id_number = IdNumberFormField()


def test_form_field_cleans_to_the_normalised_number():
    form = _PersonForm(data={"id_number": " 340524 19800101 001x "})

    assert form.is_valid()
    assert form.cleaned_data == {"id_number": "34052419800101001X"}


def test_form_field_upgrades_fifteen_digits():
    form = _PersonForm(data={"id_number": "340524800101001"})

    assert form.is_valid()
    assert form.cleaned_data == {"id_number": "34052419800101001X"}


@pytest.mark.parametrize(
    ("_case", "value", "code", "message"),
    [
        ("checksum", "360426199101010072", "id_checksum", "身份证号校验位错误"),
        ("required", "", "required", "身份证号不能为空"),
        (
            "format",
            "36042619910101007",
            "id_format",
            "身份证号格式错误：应为18位，前17位为数字，最后一位为数字或X",
        ),
    ],
)
def test_form_field_reports_chinese_errors(_case, value, code, message):
    form = _PersonForm(data={"id_number": value})

    assert not form.is_valid()
    assert form.errors.as_data()["id_number"][0].code == code
    assert form.errors["id_number"] == [message]


def test_form_field_is_optional_when_not_required():
    field = IdNumberFormField(required=False)

    assert field.clean("  ") == ""


def test_form_field_widget_disables_autocomplete():
    html = str(_PersonForm()["id_number"])

    assert 'autocomplete="off"' in html


class _PersonSerializer(serializers.Serializer):
    id_number = IdNumberSerializerField()


def test_serializer_field_accepts_any_valid_spelling():
    serializer = _PersonSerializer(data={"id_number": "３４０５２４１９８００１０１００１ｘ"})

    assert serializer.is_valid(), serializer.errors
    assert serializer.validated_data == {"id_number": "34052419800101001X"}


@pytest.mark.parametrize(
    ("_case", "value", "code", "message"),
    [
        ("checksum", "360426199101010072", "id_checksum", "身份证号校验位错误"),
        (
            "json_number",
            360426199101010071,
            "id_numeric_cell",
            "身份证号被 Excel 存成了数字，末尾几位已经丢失：请把该列的单元格格式设置为“文本”，"
            "然后重新录入这些身份证号",
        ),
        ("blank", "", "blank", "身份证号不能为空"),
        ("null", None, "null", "身份证号不能为空"),
        (
            "bool",
            True,
            "id_format",
            "身份证号格式错误：应为18位，前17位为数字，最后一位为数字或X",
        ),
    ],
)
def test_serializer_field_reports_codes(_case, value, code, message):
    serializer = _PersonSerializer(data={"id_number": value})

    assert not serializer.is_valid()
    error = serializer.errors["id_number"][0]
    assert (error.code, str(error)) == (code, message)


def test_serializer_field_requires_a_value():
    serializer = _PersonSerializer(data={})

    assert not serializer.is_valid()
    assert serializer.errors["id_number"][0].code == "required"


def test_serializer_field_outputs_the_masked_value():
    assert _PersonSerializer({"id_number": "34052419800101001X"}).data == {
        "id_number": "340524********001X"
    }
