"""Writes to the area tree and to role assignments."""

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from lowbao.areas.errors import AreaErrorCode
from lowbao.areas.models import LEVEL_DEPTH, Area, AreaLevel, UserAreaRole
from lowbao.areas.roles import ROLE_LEVELS, Role
from lowbao.audit.services import record
from lowbao.core.errors import DomainError

SHIPPED_AREAS_CSV = Path(__file__).parent / "data" / "areas-inner-mongolia.csv"
_CODE_RE = re.compile(r"^[0-9]{12}$")
AREA_CSV_HEADER = ["code", "name", "level", "parent_code"]


@dataclass(frozen=True)
class AreaRow:
    code: str
    name: str
    level: str
    parent_code: str


@dataclass(frozen=True)
class AreaLoadResult:
    created: int
    updated: int
    unchanged: int


def read_area_csv(path: Path) -> list[AreaRow]:
    """Parse a ``code,name,level,parent_code`` file (UTF-8, BOM allowed); errors name the line."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise DomainError(code=AreaErrorCode.BAD_FILE, message=f"无法读取区划文件：{exc}") from exc
    reader = csv.reader(text.splitlines())
    header = [cell.strip() for cell in next(reader, [])]
    if header != AREA_CSV_HEADER:
        raise DomainError(
            code=AreaErrorCode.BAD_FILE,
            message=f"区划文件表头应为 {','.join(AREA_CSV_HEADER)}，实际为 {','.join(header)}",
        )
    rows = []
    for line_number, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != 4:
            raise DomainError(
                code=AreaErrorCode.BAD_FILE,
                message=f"第 {line_number} 行应有 4 列，实际 {len(cells)} 列",
            )
        code, name, level, parent_code = (cell.strip() for cell in cells)
        rows.append(AreaRow(code=code, name=name, level=level, parent_code=parent_code))
    return rows


def _validate(rows: list[AreaRow], known: dict[str, tuple[str, str]]) -> None:
    """``known`` maps code → (level, path) for areas already in the database."""
    in_file = {row.code: row for row in rows}
    problems: list[str] = []
    for index, row in enumerate(rows, start=2):
        if not _CODE_RE.match(row.code):
            problems.append(f"第 {index} 行：区划代码“{row.code}”不是 12 位数字")
            continue
        if row.level not in LEVEL_DEPTH:
            problems.append(f"第 {index} 行：级别“{row.level}”无效")
            continue
        if not row.name:
            problems.append(f"第 {index} 行：名称为空")
        if row.level == AreaLevel.REGION:
            if row.parent_code:
                problems.append(f"第 {index} 行：自治区级不应有上级")
            continue
        parent = in_file.get(row.parent_code)
        parent_level = parent.level if parent else known.get(row.parent_code, (None, ""))[0]
        if parent_level is None:
            problems.append(f"第 {index} 行：上级代码“{row.parent_code}”不存在")
        elif LEVEL_DEPTH.get(parent_level, -9) != LEVEL_DEPTH[row.level] - 1:
            problems.append(f"第 {index} 行：上级“{row.parent_code}”的级别与“{row.level}”不相接")
    if problems:
        raise DomainError(
            code=AreaErrorCode.BAD_FILE,
            message="；".join(problems[:20]),
            fields={"rows": problems},
        )


@transaction.atomic
def area_load_rows(*, actor: object, rows: Iterable[AreaRow], source: str = "") -> AreaLoadResult:
    """Create or update areas; idempotent (names and parents are updated, codes never duplicate)."""
    rows = sorted(rows, key=lambda row: LEVEL_DEPTH.get(row.level, 99))
    existing = {area.code: area for area in Area.objects.all()}
    _validate(rows, {code: (area.level, area.path) for code, area in existing.items()})
    created = updated = unchanged = 0
    for row in rows:
        parent = existing.get(row.parent_code) if row.parent_code else None
        path = f"{parent.path if parent else ''}{row.code}/"
        area = existing.get(row.code)
        if area is None:
            area = Area.objects.create(
                code=row.code, name=row.name, level=row.level, parent=parent, path=path
            )
            existing[row.code] = area
            created += 1
            continue
        changed = {
            field: [getattr(area, field), value]
            for field, value in (("name", row.name), ("level", row.level), ("path", path))
            if getattr(area, field) != value
        }
        if area.parent_id != (parent.id if parent else None):
            changed["parent"] = [area.parent_id, parent.id if parent else None]
        if not changed:
            unchanged += 1
            continue
        old_path = area.path
        area.name, area.level, area.parent, area.path = row.name, row.level, parent, path
        area.save(update_fields=["name", "level", "parent", "path", "updated_at"])
        if old_path != path:
            _rebase_descendants(old_path=old_path, new_path=path)
        updated += 1
    result = AreaLoadResult(created=created, updated=updated, unchanged=unchanged)
    record(
        actor=actor,
        action="area.load",
        object_type="areas.area",
        changes={"source": source, "created": created, "updated": updated, "unchanged": unchanged},
        actor_label="" if actor else "system:load_areas",
    )
    return result


def _rebase_descendants(*, old_path: str, new_path: str) -> None:
    for descendant in Area.objects.filter(path__startswith=old_path).exclude(path=new_path):
        descendant.path = new_path + descendant.path[len(old_path) :]
        descendant.save(update_fields=["path", "updated_at"])


def area_load_file(*, actor: object, path: Path) -> AreaLoadResult:
    return area_load_rows(actor=actor, rows=read_area_csv(path), source=path.name)


def area_load_shipped(*, actor: object = None) -> AreaLoadResult:
    """Inner Mongolia's region, 12 leagues/cities and 103 banners/counties shipped with lowbao."""
    return area_load_file(actor=actor, path=SHIPPED_AREAS_CSV)


@transaction.atomic
def role_assign(
    *,
    actor: object,
    user: object,
    role: str,
    area: Area,
    valid_from: date | None = None,
    valid_to: date | None = None,
) -> UserAreaRole:
    """Give ``user`` the ``role`` over ``area``; refuses areas of a level the role doesn't fit."""
    if role not in Role.values:
        raise DomainError(code=AreaErrorCode.ROLE_LEVEL, message=f"未知角色：{role}")
    if area.level not in ROLE_LEVELS[role]:
        raise DomainError(
            code=AreaErrorCode.ROLE_LEVEL,
            message=f"“{Role(role).label}”不能分配在{AreaLevel(area.level).label}级区划（{area.name}）",
        )
    assignment, created = UserAreaRole.objects.get_or_create(
        user=user,
        role=role,
        area=area,
        valid_from=valid_from or timezone.localdate(),
        defaults={
            "valid_to": valid_to,
            "granted_by": actor if getattr(actor, "pk", None) else None,
        },
    )
    if created:
        record(
            actor=actor if getattr(actor, "pk", None) else None,
            action="role.assign",
            obj=assignment,
            area=area,
            changes={"user": str(user), "role": role, "valid_to": str(valid_to or "")},
            actor_label="" if getattr(actor, "pk", None) else "system",
        )
    return assignment
