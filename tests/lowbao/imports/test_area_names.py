"""One name-matching rule for every ledger kind (it used to differ between roster and registry)."""

import pytest

from lowbao.imports.area_names import chunks, suggest_names, village_name_key


@pytest.mark.parametrize(
    ("official", "ledger"),
    [
        ("察素齐村民委员会", "察素齐村"),
        ("察素齐村委会", "察素齐村"),
        ("乌兰嘎查委员会", "乌兰嘎查"),
        ("新华社区居委会", "新华社区"),
        ("新华社区居民委员会", "新华社区"),
        ("新华居民委员会", "新华社区"),
        ("新华居委会", "新华社区"),
    ],
)
def test_official_and_ledger_village_names_meet(official, ledger):
    assert village_name_key(official) == village_name_key(ledger)


def test_full_width_spaces_do_not_matter():
    assert village_name_key("察素齐\u3000一村") == village_name_key("察素齐一村")


def test_suggestions_name_the_closest_areas():
    assert suggest_names("察素齐", ["察素齐镇", "毕克齐镇", "善岱镇"]) == "，是否为：察素齐镇？"
    assert suggest_names("乌鲁木齐", ["善岱镇"]) == ""


def test_chunks_cover_every_item_once():
    assert list(chunks(list(range(7)), 3)) == [[0, 1, 2], [3, 4, 5], [6]]
