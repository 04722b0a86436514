"""``import_ledger KIND FILE --county CODE [--dry-run] [--skip-invalid] [--json] [--sheet NAME]
[--snapshot-date YYYY-MM-DD]`` (contracts.md): the same pipeline as the upload page.

Exit codes: 0 the file was valid (with ``--skip-invalid``: the valid households were written;
with ``--dry-run``: nothing was written), 1 the file has errors and nothing was written, 2 the
file could not be read at all or the arguments are wrong. With ``--json`` standard output is
exactly one JSON object.
"""

import json
import sys
from datetime import date
from pathlib import Path
from typing import Any, NoReturn

from django.core.management.base import BaseCommand, CommandError, CommandParser

from lowbao.areas.models import Area, AreaLevel
from lowbao.core.errors import DomainError
from lowbao.imports.kinds import ImportOptions, get_kind, kinds
from lowbao.imports.models import ImportStatus
from lowbao.imports.pipeline import (
    import_batch_apply,
    import_batch_create,
    import_batch_parse,
    import_batch_replay_report,
    import_batch_report,
    import_batch_trial,
)
from lowbao.imports.safety import UnreadableFile

EXIT_OK, EXIT_ERRORS, EXIT_UNREADABLE = 0, 1, 2


class Command(BaseCommand):
    help = (
        "导入台账：dibao（低保/特困花名册）、poverty（建档立卡）、disability、verification、"
        "standards"
    )

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)

        def error(message: str) -> NoReturn:
            text = f"参数错误：{message}"
            if getattr(self, "_called_from_command_line", False):
                sys.stderr.write(text + "\n")
                sys.exit(EXIT_UNREADABLE)
            raise CommandError(text, returncode=EXIT_UNREADABLE)

        parser.error = error  # type: ignore[method-assign]
        return parser

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", help="台账类型：" + "、".join(kinds()))
        parser.add_argument("file", help=".xlsx、.xls 或 .csv 文件")
        parser.add_argument("--county", default="", help="旗县区划代码（12位）")
        parser.add_argument("--dry-run", action="store_true", help="只校验，不写入")
        parser.add_argument(
            "--skip-invalid", action="store_true", help="跳过有错误的户（整户跳过），写入其余各户"
        )
        parser.add_argument("--json", action="store_true", help="以一个 JSON 对象输出结果")
        parser.add_argument("--sheet", default=None, help="工作表名称（默认第一个）")
        parser.add_argument("--snapshot-date", default=None, help="建档立卡导出日期 YYYY-MM-DD")

    def handle(self, *args: Any, **options: Any) -> None:
        code = self._run(options)
        if code != EXIT_OK:
            raise SystemExit(code)

    # -- arguments --

    def _fail(self, message: str) -> NoReturn:
        raise CommandError(message, returncode=EXIT_UNREADABLE)

    def _county(self, code: str, *, required: bool, label: str) -> Area | None:
        if not code:
            if required:
                self._fail(f"导入{label}须用 --county 指定旗县区划代码")
            return None
        county = Area.objects.filter(code=code.strip()).first()
        if county is None:
            self._fail(f"区划代码 {code} 不存在")
        if county.level != AreaLevel.COUNTY:
            self._fail(f"{code}（{county.name}）不是旗县级区划，请填写旗县区划代码")
        return county

    def _snapshot_date(self, text: str | None, kind: str) -> date | None:
        if not text:
            return None
        if kind != "poverty":
            self._fail("--snapshot-date 只用于 poverty（建档立卡）台账")
        try:
            return date.fromisoformat(text)
        except ValueError:
            self._fail(f"--snapshot-date “{text}”不是有效日期，应为 YYYY-MM-DD")

    # -- run --

    def _run(self, options: dict[str, Any]) -> int:
        self._json = bool(options["json"])
        kind = options["kind"]
        spec = get_kind(kind)
        if spec is None:
            self._fail(f"未知的台账类型“{kind}”，可选：{'、'.join(kinds())}")
        county = self._county(options["county"], required=spec.needs_county, label=spec.label)
        run_options = ImportOptions(
            dry_run=options["dry_run"],
            skip_invalid=options["skip_invalid"],
            sheet=options["sheet"] or None,
            snapshot_date=self._snapshot_date(options["snapshot_date"], kind),
        )
        path = Path(options["file"])
        try:
            batch = import_batch_create(
                actor=None, kind=kind, path=path, county=county, options=run_options
            )
        except UnreadableFile as exc:
            return self._unreadable(kind, path.name, county, run_options, exc.code, exc.message)
        except DomainError as exc:
            self._fail(exc.message)
        if batch.status == ImportStatus.APPLIED:
            self._emit(import_batch_replay_report(batch, dry_run=run_options.dry_run), options)
            return EXIT_OK
        if batch.status == ImportStatus.REJECTED and batch.error_code:
            self._emit(import_batch_report(batch), options)
            return EXIT_UNREADABLE
        batch = import_batch_parse(batch=batch)
        if batch.status == ImportStatus.REJECTED:
            self._emit(import_batch_report(batch), options)
            return EXIT_UNREADABLE if batch.error_code else EXIT_ERRORS
        if batch.status != ImportStatus.PARSED:
            self._fail(f"该文件正在由其他任务处理（{batch.get_status_display()}），请稍后再试")
        if run_options.dry_run:
            counts = import_batch_trial(actor=None, batch=batch)
            self._emit(import_batch_report(batch, counts=counts), options)
            return EXIT_OK
        batch = import_batch_apply(actor=None, batch=batch)
        self._emit(import_batch_report(batch), options)
        return EXIT_OK

    def _unreadable(
        self,
        kind: str,
        name: str,
        county: Area | None,
        options: ImportOptions,
        code: str,
        message: str,
    ) -> int:
        report = {
            "kind": kind,
            "file": name,
            "county": county.code if county else None,
            "dry_run": options.dry_run,
            "rows": 0,
            "households": 0,
            "persons": 0,
            "created": 0,
            "updated": 0,
            "unchanged": 0,
            "skipped_households": 0,
            "errors": [
                {"row": None, "column": None, "value": "", "code": code, "message": message}
            ],
            "warnings": [],
        }
        self._emit(report, {"json": self._json})
        return EXIT_UNREADABLE

    # -- output --

    _json = False

    def _emit(self, report: dict[str, Any], options: dict[str, Any]) -> None:
        if options.get("json"):
            self.stdout.write(json.dumps(report, ensure_ascii=False, default=str))
            return
        self.stdout.write(
            f"{report['file']}：{report['rows']} 行，{report['households']} 户，"
            f"{report['persons']} 人；新增 {report['created']}，更新 {report['updated']}，"
            f"未变 {report['unchanged']}，跳过 {report['skipped_households']} 户"
            + ("（试导入，未写入）" if report["dry_run"] else "")
        )
        for item in report["errors"]:
            self.stderr.write(_line("错误", item))
        for item in report["warnings"]:
            self.stdout.write(_line("警告", item))


def _line(label: str, item: dict[str, Any]) -> str:
    where = f"第{item['row']}行 " if item.get("row") else ""
    column = f"[{item['column']}] " if item.get("column") else ""
    value = f"“{item['value']}” " if item.get("value") else ""
    return f"{label}：{where}{column}{value}{item['message']}（{item['code']}）"
