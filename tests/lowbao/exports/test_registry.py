"""The registration API other apps use to make their lists exportable."""

import pytest

from lowbao.areas.roles import Perm
from lowbao.exports import registry
from lowbao.exports.registry import export_kinds, get_export, register_export


@pytest.fixture
def cleanup():
    codes = []
    yield codes
    for code in codes:
        registry._KINDS.pop(code, None)


def rows(query):
    return iter([["1", "150121198001011234"]])


def test_the_roster_and_the_registry_are_registered_from_the_settings_modules():
    kinds = export_kinds()

    assert {"dibao", "poverty"} <= set(kinds)
    assert (kinds["dibao"].perm, kinds["poverty"].perm) == (Perm.CASE_VIEW, Perm.REGISTRY_VIEW)
    assert kinds["dibao"].sensitive_columns == {"身份证号", "银行账号", "联系电话"}
    assert kinds["poverty"].sensitive_columns == {"证件号码", "残疾证号"}


def test_a_registered_kind_is_found_with_its_description(cleanup):
    cleanup.append("review_list")

    spec = register_export(
        "review_list",
        "年度复核名单",
        Perm.RECONCILE_VIEW,
        rows,
        headers=("户编号", "身份证号"),
        count_rows=lambda query: 1,
        filter_names=("township",),
        id_columns={"身份证号"},
        needs_county=False,
    )

    assert get_export("review_list") is spec
    assert (spec.label, spec.filter_names, spec.needs_county) == (
        "年度复核名单",
        ("township",),
        False,
    )
    assert spec.id_columns == frozenset({"身份证号"})


@pytest.mark.parametrize(
    ("headers", "sensitive", "message"),
    [
        pytest.param(("a", "b"), {"身份证号"}, "not in its headers", id="unknown_column_case"),
        pytest.param(("a", "a"), set(), "duplicate headers", id="duplicate_header_case"),
    ],
)
def test_a_kind_with_inconsistent_columns_is_refused(cleanup, headers, sensitive, message):
    cleanup.append("broken")

    with pytest.raises(ValueError, match=message):
        register_export(
            "broken",
            "坏",
            Perm.CASE_VIEW,
            rows,
            headers=headers,
            count_rows=len,
            id_columns=sensitive,
        )

    assert get_export("broken") is None
