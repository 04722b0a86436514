"""``manage.py load_areas FILE`` (contracts.md): idempotent load of an area CSV."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from lowbao.areas.services import area_load_file
from lowbao.core.errors import DomainError


class Command(BaseCommand):
    help = "导入行政区划（CSV：code,name,level,parent_code）；重复导入只更新名称和上级。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)

    def handle(self, *args: object, **options: object) -> None:
        path = Path(str(options["file"]))
        if not path.is_file():
            raise CommandError(f"文件不存在：{path}", returncode=2)
        try:
            result = area_load_file(actor=None, path=path)
        except DomainError as exc:
            raise CommandError(exc.message, returncode=1) from exc
        self.stdout.write(
            f"区划导入完成：新增 {result.created}，更新 {result.updated}，未变 {result.unchanged}"
        )
