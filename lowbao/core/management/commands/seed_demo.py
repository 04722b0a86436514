"""``manage.py seed_demo [--county CODE] [--households N]`` (contracts.md)."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from lowbao.core.demo import DEFAULT_DEMO_COUNTY, demo_seed
from lowbao.core.errors import DomainError


class Command(BaseCommand):
    help = "生成演示数据：乡镇、嘎查村、每个角色一个演示账号（密码只打印一次）。可重复运行。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--county", default=DEFAULT_DEMO_COUNTY, help="12 位旗县代码")
        parser.add_argument("--households", type=int, default=60, help="演示保障户数")
        parser.add_argument(
            "--reset-passwords", action="store_true", help="为已有演示账号重新生成密码"
        )

    def handle(self, *args: object, **options: object) -> None:
        try:
            result = demo_seed(
                county_code=str(options["county"]),
                reset_passwords=bool(options["reset_passwords"]),
                households=int(options["households"]),
            )
        except DomainError as exc:
            raise CommandError(exc.message, returncode=2) from exc
        self.stdout.write(
            f"演示旗县：{result.county.name}（{result.county.code}），"
            f"{len(result.townships)} 个苏木乡镇"
        )
        for note in result.notes:
            self.stdout.write(note)
        self.stdout.write("演示账号：")
        for login in result.logins:
            secret = (
                login.password or "（已存在，密码见首次生成时的输出；--reset-passwords 可重新生成）"
            )
            self.stdout.write(
                f"  {login.username:<22} {login.role_label:<10} {login.area_name:<8} {secret}"
            )
