"""The ``areas`` ledger: townships (苏木乡镇) and villages (嘎查村) of one county in the NBS
statistical code format (统计用区划代码和城乡划分代码).

| header (aliases) | required | meaning |
|---|---|---|
| 统计用区划代码 (区划代码, 统计用区划代码和城乡划分代码) | yes | 12 digits |
| 名称 (区划名称, 单位名称) | yes | |
| 城乡分类代码 (城乡分类) | no | 111, 112, 121, 122, 123, 210 or 220 |

The level and the parent come from the code (2 digits region, 2 league, 2 county, 3 township,
3 village): a township ends in ``000`` with digits 7–9 not ``000``, anything else below the county
is a village; a township's parent is the county, a village's the township with the same first 9
digits. Only areas under the import's county are accepted. Every problem is reported with its row,
column and code (``bad_code``, ``area_out_of_scope``, ``required_missing``, ``duplicate_in_file``,
``parent_missing``, ``too_long``, ``bad_enum``); nothing is written on any error unless "skip
invalid" is chosen, and then a village whose township is left out is left out too.

Apply reuses ``lowbao.areas.services.area_load_rows`` (the ``load_areas`` service: create or update
names and parents, idempotent, one ``area.load`` audit row) and then sets the urban-rural class,
which the ``load_areas`` CSV does not carry. Importing the same file twice leaves the state of
importing it once.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from lowbao.areas.models import Area, AreaLevel
from lowbao.areas.services import AreaRow, area_load_rows
from lowbao.imports.area_names import chunks
from lowbao.imports.cells import is_given, normalise_text
from lowbao.imports.kinds import (
    Counts,
    ImportOptions,
    LedgerKind,
    Outcomes,
    Row,
    Validation,
    problem,
)

CODE = "统计用区划代码"
NAME = "名称"
URBAN_RURAL = "城乡分类代码"
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    CODE: ("区划代码", "统计用区划代码和城乡划分代码"),
    NAME: ("区划名称", "单位名称"),
    URBAN_RURAL: ("城乡分类",),
}
COLUMN_ORDER = {header: index for index, header in enumerate(COLUMN_ALIASES)}
NAME_LIMIT = Area._meta.get_field("name").max_length
# 统计用城乡划分代码: 111 主城区, 112 城乡结合区, 121 镇中心区, 122 镇乡结合区, 123 特殊区域,
# 210 乡中心区, 220 村庄.
URBAN_RURAL_CLASSES = ("111", "112", "121", "122", "123", "210", "220")
LOOKUP_CHUNK = 5000
_CODE = re.compile(r"\d{12}")


@dataclass(frozen=True)
class AreaImportRow:
    row: int
    code: str
    name: str
    level: str
    parent_code: str
    urban_rural_class: str


def _level_of(code: str) -> str:
    return AreaLevel.TOWNSHIP if code.endswith("000") else AreaLevel.VILLAGE


def _parent_of(code: str, county: Area) -> str:
    return county.code if code.endswith("000") else code[:9] + "000"


class _Validator:
    def __init__(self, county: Area) -> None:
        self.county = county
        self.errors: list[dict[str, Any]] = []
        self.failed: set[int] = set()

    def error(self, row: int, column: str, value: str, code: str, message: str) -> None:
        self.failed.add(row)
        self.errors.append(problem(row, column, value, code, message))

    def read(self, row: Row) -> AreaImportRow | None:
        cells = row.values
        code = normalise_text(cells.get(CODE)).replace(" ", "")
        name = normalise_text(cells.get(NAME))
        urban = normalise_text(cells.get(URBAN_RURAL)).replace(" ", "")
        valid_code = self.check_code(row.number, code)
        if not is_given(name):
            self.error(row.number, NAME, "", "required_missing", "名称不能为空")
        elif len(name) > NAME_LIMIT:
            self.error(row.number, NAME, name[:60], "too_long", f"名称不能超过{NAME_LIMIT}个字")
        if is_given(urban) and urban not in URBAN_RURAL_CLASSES:
            message = f"城乡分类代码“{urban}”无效（可选：{'、'.join(URBAN_RURAL_CLASSES)}）"
            self.error(row.number, URBAN_RURAL, urban, "bad_enum", message)
        if not valid_code or row.number in self.failed:
            return None
        return AreaImportRow(
            row=row.number,
            code=code,
            name=name,
            level=_level_of(code),
            parent_code=_parent_of(code, self.county),
            urban_rural_class=urban if is_given(urban) else "",
        )

    def check_code(self, row: int, code: str) -> bool:
        if not is_given(code):
            self.error(row, CODE, "", "required_missing", "统计用区划代码不能为空")
            return False
        if not _CODE.fullmatch(code):
            self.error(row, CODE, code, "bad_code", "统计用区划代码应为12位数字")
            return False
        if code.endswith("000000"):
            message = f"{code}是旗县级或以上的区划代码，这里只能导入苏木乡镇和嘎查村"
            self.error(row, CODE, code, "bad_code", message)
            return False
        if code[:6] + "000000" != self.county.code:
            message = f"{code}不在{self.county.name}（{self.county.code}），不能在本旗县导入"
            self.error(row, CODE, code, "area_out_of_scope", message)
            return False
        return True

    def check_duplicates(self, parsed: list[AreaImportRow]) -> list[AreaImportRow]:
        first: dict[str, int] = {}
        kept = []
        for area in parsed:
            seen = first.setdefault(area.code, area.row)
            if seen != area.row:
                message = f"与第{seen}行的统计用区划代码相同"
                self.error(area.row, CODE, area.code, "duplicate_in_file", message)
                continue
            kept.append(area)
        return kept

    def check_parents(self, parsed: list[AreaImportRow], rows: Sequence[Row]) -> None:
        """A village's township must be in the file (without error) or already known."""
        in_file = {area.code: area for area in parsed}
        rows_by_code: dict[str, int] = {}
        for row in rows:
            code = normalise_text(row.values.get(CODE)).replace(" ", "")
            rows_by_code.setdefault(code, row.number)
        valid_in_file = {code for code, area in in_file.items() if area.row not in self.failed}
        wanted = sorted(
            {
                area.parent_code
                for area in parsed
                if area.level == AreaLevel.VILLAGE and area.parent_code not in valid_in_file
            }
        )
        known: dict[str, str] = {}
        for chunk in chunks(wanted, LOOKUP_CHUNK):
            known.update(Area.objects.filter(code__in=chunk).values_list("code", "level"))
        for area in parsed:
            parent = area.parent_code
            if area.level != AreaLevel.VILLAGE or parent in valid_in_file:
                continue
            if known.get(parent) == AreaLevel.TOWNSHIP:
                continue
            if parent in rows_by_code:
                message = f"上级苏木乡镇{parent}（第{rows_by_code[parent]}行）有错误，未导入"
            else:
                message = f"上级苏木乡镇{parent}在文件和系统中都不存在，请先导入苏木乡镇"
            self.error(area.row, CODE, area.code, "parent_missing", message)


def validate_areas(rows: Sequence[Row], county: Area | None, options: ImportOptions) -> Validation:
    """Validate the rows of ``county``'s townships and villages; never writes."""
    if county is None:
        raise ValueError("the areas ledger is imported for one county")
    validator = _Validator(county)
    parsed = [area for row in rows if (area := validator.read(row)) is not None]
    parsed = validator.check_duplicates(parsed)
    validator.check_parents(parsed, rows)
    valid = [area for area in parsed if area.row not in validator.failed]
    codes = [area.code for area in valid]
    existing: set[str] = set()
    for chunk in chunks(codes, LOOKUP_CHUNK):
        existing.update(Area.objects.filter(code__in=chunk).values_list("code", flat=True))
    errors = sorted(
        validator.errors,
        key=lambda item: (item["row"] or 0, COLUMN_ORDER.get(item["column"] or "", 99)),
    )
    return Validation(
        rows=len(rows),
        households=0,
        persons=0,
        errors=errors,
        warnings=[],
        payload=valid,
        units=len(valid),
        skipped=len({row.number for row in rows} & validator.failed),
        matched_rows={area.row for area in valid if area.code in existing},
    )


def apply_areas(*, actor: Any, payload: list[AreaImportRow], source_name: str, **_: Any) -> Counts:
    """Create or update the areas (inside the pipeline's transaction)."""
    codes = [area.code for area in payload]
    before: dict[str, tuple[str, str, str, str]] = {}
    for chunk in chunks(codes, LOOKUP_CHUNK):
        for code, name, level, parent_code, urban in Area.objects.filter(
            code__in=chunk
        ).values_list("code", "name", "level", "parent__code", "urban_rural_class"):
            before[code] = (name, level, parent_code or "", urban)
    outcomes = Outcomes()
    for area in payload:
        old = before.get(area.code)
        if old is None:
            outcomes.add("created", area.row)
        elif old != (area.name, area.level, area.parent_code, area.urban_rural_class):
            outcomes.add("updated", area.row)
        else:
            outcomes.add("unchanged", area.row)
    area_load_rows(
        actor=actor,
        rows=[AreaRow(a.code, a.name, a.level, a.parent_code) for a in payload],
        source=source_name,
    )
    wanted = {
        area.code: area.urban_rural_class
        for area in payload
        if area.code not in before or before[area.code][3] != area.urban_rural_class
    }
    changed = []
    now = timezone.now()
    for chunk in chunks(sorted(wanted), LOOKUP_CHUNK):
        for stored in Area.objects.filter(code__in=chunk):
            stored.urban_rural_class = wanted[stored.code]
            stored.updated_at = now
            changed.append(stored)
    Area.objects.bulk_update(changed, ["urban_rural_class", "updated_at"], batch_size=500)
    return outcomes.counts()


AREAS_KIND = LedgerKind(
    code="areas",
    label="苏木乡镇/嘎查村区划",
    required_headers=(CODE, NAME),
    aliases=COLUMN_ALIASES,
    validate=validate_areas,
    apply=apply_areas,
    household_ledger=False,
)
