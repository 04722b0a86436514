"""``reconcile (--county CODE | --all) [--as-of YYYY-MM-DD] [--json]`` (contracts.md).

Runs the ledger reconciliation of reconciliation.md synchronously, through the same services as
the web UI and the Celery tasks, and stores the run(s). ``--all`` reconciles every county that
has ledger data as one sweep, computed in one set-based pass. Meant for an operator on the
server: ``--json`` prints the full ID numbers involved.

Exit codes: 0 every run finished; 1 a run failed (or the county is being reconciled already);
2 bad arguments or an unknown county (message on standard error).
With ``--json`` standard output is exactly one JSON object: a run's report, or with ``--all``
``{"runs": [...]}`` with one report per county.
"""

import json
import sys
from datetime import date
from typing import Any, NoReturn

from django.core.management.base import BaseCommand, CommandError, CommandParser

from lowbao.areas.models import Area, AreaLevel
from lowbao.core.errors import DomainError
from review.models import ReconciliationCategory, ReconciliationRun, RunStatus, RunTrigger
from review.services.reconciliation import (
    ReconciliationErrorCode,
    reconciliation_report,
    reconciliation_run_now,
    reconciliation_sweep_run,
)

EXIT_OK, EXIT_FAILED, EXIT_BAD_ARGUMENTS = 0, 1, 2


class Command(BaseCommand):
    help = "台账比对：比对旗县的低保/特困在保户与建档立卡台账（--county 旗县代码 或 --all）"

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)

        def error(message: str) -> NoReturn:
            text = f"参数错误：{message}"
            if getattr(self, "_called_from_command_line", False):
                sys.stderr.write(text + "\n")
                sys.exit(EXIT_BAD_ARGUMENTS)
            raise CommandError(text, returncode=EXIT_BAD_ARGUMENTS)

        parser.error = error  # type: ignore[method-assign]
        return parser

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--county", default="", help="旗县区划代码（12位）")
        parser.add_argument("--all", action="store_true", help="比对所有有台账数据的旗县")
        parser.add_argument("--as-of", default="", help="比对基准日 YYYY-MM-DD（默认今天）")
        parser.add_argument("--json", action="store_true", help="以一个 JSON 对象输出结果")

    def _bad(self, message: str) -> NoReturn:
        raise CommandError(message, returncode=EXIT_BAD_ARGUMENTS)

    def handle(self, *args: Any, **options: Any) -> None:
        code = options["county"].strip()
        if bool(code) == bool(options["all"]):
            self._bad("请用 --county 指定一个旗县区划代码，或用 --all 比对所有旗县（二者选一）")
        as_of = self._as_of(options["as_of"])
        try:
            if options["all"]:
                sweep, runs = reconciliation_sweep_run(
                    actor=None, as_of=as_of, trigger=RunTrigger.COMMAND
                )
                if sweep.counties_skipped:
                    self.stderr.write(f"{sweep.counties_skipped} 个旗县已有比对正在进行，本次跳过")
            else:
                runs = [
                    reconciliation_run_now(
                        actor=None,
                        county=self._county(code),
                        as_of=as_of,
                        trigger=RunTrigger.COMMAND,
                    )
                ]
        except DomainError as exc:
            if exc.code == ReconciliationErrorCode.ALREADY_RUNNING:
                raise CommandError(exc.message, returncode=EXIT_FAILED) from None
            self._bad(exc.message)
        if options["json"]:
            reports = [reconciliation_report(run) for run in runs]
            output = {"runs": reports} if options["all"] else reports[0]
            self.stdout.write(json.dumps(output, ensure_ascii=False))
        else:
            for run in runs:
                self._summary(run)
        failed = [run for run in runs if run.status != RunStatus.FINISHED]
        if failed:
            names = "、".join(f"{run.county.name}（{run.error}）" for run in failed)
            raise CommandError(f"比对失败：{names}", returncode=EXIT_FAILED)

    def _as_of(self, text: str) -> date | None:
        if not text:
            return None
        try:
            return date.fromisoformat(text.strip())
        except ValueError:
            self._bad(f"--as-of “{text}”不是有效日期，应为 YYYY-MM-DD")

    def _county(self, code: str) -> Area:
        county = Area.objects.filter(code=code).first()
        if county is None:
            self._bad(f"区划代码 {code} 不存在")
        if county.level != AreaLevel.COUNTY:
            self._bad(f"{code}（{county.name}）不是旗县级区划，请填写旗县区划代码")
        return county

    def _summary(self, run: ReconciliationRun) -> None:
        head = (
            f"{run.county.name}（{run.county.code}）基准日 {run.as_of:%Y-%m-%d}，"
            f"期次 {run.period}：{run.get_status_display()}"
        )
        if run.status != RunStatus.FINISHED:
            self.stdout.write(f"{head}，{run.error}")
            return
        self.stdout.write(
            f"{head}；低保/特困在保 {run.dibao_households} 户，建档立卡 "
            f"{run.registry_households} 户"
        )
        counts = run.counts if isinstance(run.counts, dict) else {}
        for code, label in ReconciliationCategory.choices:
            self.stdout.write(f"  {label}（{code}）：{counts.get(code, 0)}")
