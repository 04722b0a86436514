"""``manage.py create_api_client NAME --role ROLE --area CODE`` (contracts.md)."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from lowbao.accounts.services import api_client_create
from lowbao.areas.models import Area
from lowbao.areas.roles import Role
from lowbao.core.errors import DomainError


class Command(BaseCommand):
    help = "创建接口账号（其他部门系统或脚本），并只打印一次令牌。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--area", required=True, help="12 位区划代码")

    def handle(self, *args: object, **options: str) -> None:
        area = Area.objects.filter(code=options["area"]).first()
        if area is None:
            raise CommandError(f"区划代码不存在：{options['area']}", returncode=2)
        try:
            client = api_client_create(
                actor=None, name=options["name"], role=options["role"], area=area
            )
        except DomainError as exc:
            raise CommandError(exc.message, returncode=1) from exc
        self.stdout.write(
            f"接口账号：{client.user.username}（{Role(options['role']).label}，{area.name}）"
        )
        self.stdout.write(f"令牌（只显示这一次）：{client.token}")
