# ruff: noqa: S608 - statements are composed from model table names, fixed codes and the
# dialect's spellings only; every value is a bound parameter (hence the "nosec B608" marks).
"""The set-based core of the ledger reconciliation (reconciliation.md): SQL over person ids.

One ``Computation`` reconciles a *scope* — one county (a Celery task) or many (``reconcile --all``)
— on one as-of date, in session-private temporary tables (``recon_*``), with joins and GROUP BY
only: no Python loop over households or persons. The same statements run on PostgreSQL and on the
embedded SQLite; the few spellings that differ (JSON aggregation and construction, money as text,
text ordering) come from ``Dialect``. Money is compared in whole cents, so both databases draw the
same boundaries.

Steps (``STEPS``; the service records each as the run's progress):

1. ``recon_snap``: for every county, the registry snapshots in force on the as-of date — its
   latest full snapshot dated on or before the date plus the partial pushes after it (the rule of
   ``poverty.selectors.registry_households_on``); for each household the latest entry counts.
   ``recon_d``: the dibao roster of the scope — households in payment on the date (a
   non-suspended ``BenefitPeriod`` covers the date's month; a household without any period
   history counts when its status is in ``PAYING_STATUSES``); ``in_grace``: the covering period
   is a gradual-exit period, or the date lies in ``grace_start`` … ``grace_end``.
2. ``recon_r``: the registry households of the scope on the date, with the entry's values.
3. ``recon_pj``: ONE full outer join of the two member lists (dibao members on the date —
   ``left_at`` empty or later — and the entries' members) on (person, county): a row per person
   and pair of households, the missing side NULL. Grouped by household (``recon_dl``,
   ``recon_rl``) it gives each household's links — none, one (its ``partner``) or more (``n``
   0, 1, 2) — and whether a member has no household on the other side (``loose``). A
   one-to-one pair's member sets differ exactly when either household is ``loose``.
   ``recon_pc``: the one-to-one pairs with their four pair flags; ``linked`` = none set.
   (For the whole province, PostgreSQL merges the two member lists rather than hashing them:
   measured about a third faster at a million persons.)
4. ``recon_found``: one row per finding — pair categories, ``split_household``, the categories of
   unlinked R and D (only the candidates' members are aggregated). The rows of ``recon_pj`` they
   look at again (flagged pairs, split households, unlinked candidates) are read out of it in
   one pass (``recon_px``).
5. Person categories from one GROUP BY over ``recon_pj`` (plus, when the scope is not the whole
   province, the other counties' memberships of the same persons) that keeps the persons with
   more than one membership row (``recon_multi``, grouped by sorting: a hash table of a
   million groups is slower); only their rows (``recon_pjd``) are looked
   at again: two households on a side means their smallest and largest ids differ. A person
   in two dibao households of two counties is a finding in both counties.

Then ``write`` carries the findings over into the items in one transaction.

Item keys (stable from run to run, so items carry over): ``<D number>|<R number>`` for pair
categories, ``D:<number>`` / ``R:<number>`` for ``split_household``, the R or D number for the
categories of one household, the person's ID-number blind index for person categories.

``details`` per category (what the worklist shows; never a plain ID number; lists of ints are
``Person`` keys): ``attr_mismatch`` dibao_programme, registry_attribute; ``amount_mismatch``
dibao_amount, registry_amount, difference; ``member_mismatch`` only_in_dibao, only_in_registry;
``should_exit_review`` poverty_status, dibao_programme; ``split_household`` registry_households or
dibao_households (numbers); ``registry_dibao_missing`` registry_attribute, poverty_status;
``should_protect`` poverty_status, annual_income_per_capita, standard_monthly; ``should_register``
income_per_capita_monthly, poverty_line, dibao_programme; ``duplicate_person`` dibao_households,
registry_households; ``dibao_and_tekun`` dibao_households (as "旗县 户编号（类型）").
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper

from cases.choices import PAYING_STATUSES, BenefitKind, LabourCapacity, Programme
from cases.models import BenefitPeriod, Household, HouseholdMember
from lowbao.areas.models import Area, AreaLevel
from lowbao.people.models import Person
from poverty.choices import PovertyAttribute, PovertyStatus
from poverty.models import (
    RegistryHousehold,
    RegistrySnapshot,
    RegistrySnapshotEntry,
    RegistrySnapshotMember,
)
from review.models import (
    ItemEvent,
    ItemState,
    ReconciliationCategory,
    ReconciliationFinding,
    ReconciliationItem,
)

C = ReconciliationCategory
PAIR_FLAGS = {
    C.ATTR_MISMATCH: "attr_f",
    C.AMOUNT_MISMATCH: "amount_f",
    C.MEMBER_MISMATCH: "member_f",
    C.SHOULD_EXIT_REVIEW: "exit_f",
}
# Progress of a run: (step label, percent reached when the step starts).
STEPS: tuple[tuple[str, int], ...] = (
    ("读取低保/特困在保户及成员", 5),
    ("读取建档立卡户及成员", 20),
    ("按身份证号匹配两本台账", 35),
    ("判定比对问题类别", 50),
    ("核查重复享受", 65),
    ("写入比对结果", 80),
)
TEMP_TABLES = (
    "recon_scope",
    "recon_snap",
    "recon_d",
    "recon_r",
    "recon_pj",
    "recon_px",
    "recon_dl",
    "recon_rl",
    "recon_pc",
    "recon_pk",
    "recon_pp",
    "recon_pl",
    "recon_sx",
    "recon_sy",
    "recon_cr",
    "recon_cd",
    "recon_cand",
    "recon_members",
    "recon_found",
    "recon_dout",
    "recon_rout",
    "recon_multi",
    "recon_pjd",
    "recon_dup",
    "recon_phd",
    "recon_phr",
    "recon_dx",
    "recon_rx",
    "recon_pitems",
    "recon_pfd",
    "recon_pfr",
    "recon_pdx",
    "recon_prx",
    "recon_f2",
    "recon_gone",
)

T_AREA = Area._meta.db_table
T_HOUSEHOLD = Household._meta.db_table
T_MEMBER = HouseholdMember._meta.db_table
T_PERIOD = BenefitPeriod._meta.db_table
T_SNAPSHOT = RegistrySnapshot._meta.db_table
T_ENTRY = RegistrySnapshotEntry._meta.db_table
T_SNAPSHOT_MEMBER = RegistrySnapshotMember._meta.db_table
T_REGISTRY = RegistryHousehold._meta.db_table
T_PERSON = Person._meta.db_table
T_ITEM = ReconciliationItem._meta.db_table
T_FINDING = ReconciliationFinding._meta.db_table
T_EVENT = ItemEvent._meta.db_table

NOTE_FOUND = "本期比对发现"
NOTE_FOUND_AGAIN = "本期比对再次发现，保持原处理结果"
NOTE_REOPENED = "数据中再次出现，重新列入待处理"
NOTE_CLOSED = "本期比对未再发现，视为数据已消除"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _label_case(column: str, choices: Iterable[tuple[str, str]]) -> str:
    """``CASE column WHEN code THEN label … END`` (labels are constants of the choices)."""
    whens = " ".join(f"WHEN {_quote(value)} THEN {_quote(label)}" for value, label in choices)
    return f"CASE {column} {whens} ELSE {column} END"


def programme_label(column: str) -> str:
    return _label_case(column, Programme.choices)


def attribute_label(column: str) -> str:
    return _label_case(column, PovertyAttribute.choices)


def status_label(column: str) -> str:
    return _label_case(column, PovertyStatus.choices)


def _township(area_alias: str) -> str:
    """The township of a household's area (a village's parent, or the township itself)."""
    return (
        f"CASE {area_alias}.level WHEN {_quote(AreaLevel.VILLAGE)} THEN {area_alias}.parent_id "
        f"WHEN {_quote(AreaLevel.TOWNSHIP)} THEN {area_alias}.id END"
    )


class Dialect:
    """The spellings PostgreSQL and SQLite disagree on; everything else is shared SQL."""

    def __init__(self, vendor: str) -> None:
        if vendor not in ("postgresql", "sqlite"):
            raise NotImplementedError(
                f"reconciliation supports PostgreSQL and SQLite, not {vendor}"
            )
        self.postgres = vendor == "postgresql"
        self.json_type = "jsonb" if self.postgres else "text"

    def agg(self, expr: str, order: str) -> str:
        """JSON array of ``expr`` over a group, in ``order`` (SQLite: the input is pre-ordered
        by ``inner_order``, which its aggregate keeps)."""
        if self.postgres:
            return f"jsonb_agg({expr} ORDER BY {order})"
        return f"json_group_array({expr})"

    def inner_order(self, order: str) -> str:
        return "" if self.postgres else f"ORDER BY {order}"

    def array(self, *exprs: str) -> str:
        return f"{'jsonb_build_array' if self.postgres else 'json_array'}({', '.join(exprs)})"

    def obj(self, **pairs: str) -> str:
        items = ", ".join(f"{_quote(key)}, {value}" for key, value in pairs.items())
        return f"{'jsonb_build_object' if self.postgres else 'json_object'}({items})"

    def j(self, column: str) -> str:
        """A stored JSON value used inside another JSON constructor."""
        return column if self.postgres else f"json({column})"

    def jor(self, column: str) -> str:
        """A stored JSON array, or ``[]`` when NULL."""
        if self.postgres:
            return f"COALESCE({column}, '[]'::jsonb)"
        return f"json(COALESCE({column}, '[]'))"

    def money(self, expr: str) -> str:
        if self.postgres:
            return f"to_char({expr}, 'FM999999999990.00')"
        return f"printf('%%.2f', {expr})"

    def merge(self, old: str, new: str) -> str:
        """``old`` with the keys of ``new`` (keys others wrote, like ``referral_id``, stay)."""
        if self.postgres:
            return f"(COALESCE({old}, '{{}}'::jsonb) || {new})"
        return f"json_patch(COALESCE({old}, '{{}}'), {new})"

    def text_order(self, expr: str) -> str:
        """Byte order for text, as SQLite's default, so lists come out alike on both."""
        return f'{expr} COLLATE "C"' if self.postgres else expr


@dataclass(frozen=True)
class ScopeCounty:
    county_id: int
    run_id: int
    standard_cents: int
    standard_text: str


@dataclass
class CountyResult:
    counts: dict[str, int]
    dibao_households: int = 0
    registry_households: int = 0
    registry_snapshot_id: int | None = None


@dataclass
class Computation:
    """Reconcile ``scope`` on ``as_of``; ``on_step`` is called before each step of ``STEPS``."""

    scope: Sequence[ScopeCounty]
    as_of: date
    poverty_line_cents: int
    poverty_line_text: str
    on_step: Callable[[int], None] = lambda index: None
    dialect: Dialect = field(init=False)
    params: dict[str, Any] = field(init=False)
    several_snapshots: bool = field(init=False, default=True)
    # whether counties outside the scope have dibao households / registry snapshots
    outside_dibao: bool = field(init=False, default=True)
    outside_registry: bool = field(init=False, default=True)

    @property
    def whole_province(self) -> bool:
        return not (self.outside_dibao or self.outside_registry)

    def __post_init__(self) -> None:
        self.dialect = Dialect(connection.vendor)
        ops = connection.ops
        self.params = {
            "as_of": ops.adapt_datefield_value(self.as_of),
            "month": ops.adapt_datefield_value(self.as_of.replace(day=1)),
            "no": False,
            "paying_a": PAYING_STATUSES[0].value,
            "paying_b": PAYING_STATUSES[1].value,
            "grace_kind": BenefitKind.GRADUAL_EXIT.value,
            "line_cents": self.poverty_line_cents,
            "line_text": self.poverty_line_text,
        }

    # -- plumbing ---------------------------------------------------------------------------

    def _run(self, cursor: CursorWrapper, sql: str, params: dict[str, Any] | None = None) -> None:
        cursor.execute(sql, {**self.params, **(params or {})})

    def _table(
        self,
        cursor: CursorWrapper,
        name: str,
        select: str,
        *indexes: str,
        params: dict[str, Any] | None = None,
        avoid: tuple[str, ...] = (),
    ) -> None:
        """``CREATE TEMPORARY TABLE name AS select``. PostgreSQL gets the table's statistics
        (temporary tables get no autovacuum, and a planner guessing their sizes picks nested
        loops over thousands of rows); SQLite gets the indexes its nested-loop joins need.

        ``avoid``: PostgreSQL plan node kinds (``hashagg``, ``hashjoin``, ``nestloop``: ``enable_*``
        settings) turned off for this statement only, where the planner's choice was measured
        to be the slower one (see the callers)."""
        self._run(cursor, f"DROP TABLE IF EXISTS {name}")
        previous: list[tuple[str, str]] = []
        if self.dialect.postgres:
            for kind in avoid:
                # (local to the transaction, and set back right after the statement)
                cursor.execute("SELECT current_setting(%s)", [f"enable_{kind}"])
                previous.append((f"enable_{kind}", cursor.fetchone()[0]))
                cursor.execute("SELECT set_config(%s, 'off', true)", [f"enable_{kind}"])
        self._run(cursor, f"CREATE TEMPORARY TABLE {name} AS {select}", params)
        for setting, value in previous:
            cursor.execute("SELECT set_config(%s, %s, true)", [setting, value])
        if self.dialect.postgres:
            self._run(cursor, f"ANALYZE {name}")
            return
        for columns in indexes:
            index = f"{name}_{columns.replace(', ', '_')}_idx"
            self._run(cursor, f"CREATE INDEX {index} ON {name} ({columns})")

    @staticmethod
    def drop_tables() -> None:
        with connection.cursor() as cursor:
            for name in TEMP_TABLES:
                cursor.execute(f"DROP TABLE IF EXISTS {name}")

    def _in_payment(self, household: str, period: str) -> str:
        """``household`` (with ``period`` LEFT JOINed as its period covering the month) is paid."""
        return (
            f"(({period}.id IS NOT NULL AND {period}.is_suspended = %(no)s) OR ({period}.id IS NULL"
            f" AND {household}.status IN (%(paying_a)s, %(paying_b)s) AND NOT EXISTS (SELECT 1 "
            f"FROM {T_PERIOD} x WHERE x.household_id = {household}.id)))"  # nosec B608
        )

    @staticmethod
    def _covering_period(household: str, alias: str) -> str:
        return (
            f"LEFT JOIN {T_PERIOD} {alias} ON {alias}.household_id = {household}.id "
            f"AND {alias}.start_month <= %(month)s "
            f"AND ({alias}.end_month IS NULL OR {alias}.end_month >= %(month)s)"
        )

    def _latest_entry(self, entry: str) -> str:
        """``entry`` is not superseded by a later entry of its household in force on the date
        (needed only when partial pushes follow a county's full snapshot)."""
        if not self.several_snapshots:
            return "1 = 1"
        return (
            f"NOT EXISTS (SELECT 1 FROM {T_ENTRY} e2 JOIN recon_snap s2 ON "
            f"s2.snapshot_id = e2.snapshot_id WHERE e2.household_id = {entry}.household_id "
            f"AND e2.snapshot_id > {entry}.snapshot_id)"  # nosec B608
        )

    # -- steps ------------------------------------------------------------------------------

    def compute(self) -> dict[int, CountyResult]:
        """Build every temporary table up to ``recon_found``; return the counts per county."""
        steps: tuple[tuple[Callable[[CursorWrapper], None], ...], ...] = (
            (self._scope, self._dibao),
            (self._registry,),
            (self._links,),
            (self._found_households,),
            (self._found_persons,),
        )
        for index, functions in enumerate(steps):
            self.on_step(index)
            # each step is its own transaction (a savepoint under an outer one): the progress
            # recorded between steps is visible at once, and a failed step leaves the
            # connection usable for marking the run failed
            with transaction.atomic(), connection.cursor() as cursor:
                for function in functions:
                    function(cursor)
        with connection.cursor() as cursor:
            if self.dialect.postgres:
                self._run(cursor, "ANALYZE recon_found")
            return self._results(cursor)

    def _scope(self, cursor: CursorWrapper) -> None:
        self._run(cursor, "DROP TABLE IF EXISTS recon_scope")
        self._run(
            cursor,
            "CREATE TEMPORARY TABLE recon_scope (county_id BIGINT NOT NULL PRIMARY KEY, "
            "run_id BIGINT NOT NULL, std_cents BIGINT NOT NULL, std_text VARCHAR(20) NOT NULL)",
        )
        cursor.executemany(
            "INSERT INTO recon_scope (county_id, run_id, std_cents, std_text) "
            "VALUES (%s, %s, %s, %s)",
            [(s.county_id, s.run_id, s.standard_cents, s.standard_text) for s in self.scope],
        )
        if self.dialect.postgres:
            self._run(cursor, "ANALYZE recon_scope")
        # every county's registry in force on the date (the person categories look at all)
        self._table(
            cursor,
            "recon_snap",
            f"SELECT s.id AS snapshot_id, s.county_id FROM {T_SNAPSHOT} s "
            f"LEFT JOIN (SELECT county_id, MAX(id) AS base_id FROM {T_SNAPSHOT} "
            f"WHERE is_partial = %(no)s AND snapshot_date <= %(as_of)s GROUP BY county_id) b "
            f"ON b.county_id = s.county_id "  # nosec B608
            f"WHERE s.snapshot_date <= %(as_of)s AND s.id >= COALESCE(b.base_id, 0)",
            "snapshot_id",
        )
        cursor.execute("SELECT COUNT(*) - COUNT(DISTINCT county_id) FROM recon_snap", {})
        self.several_snapshots = cursor.fetchone()[0] > 0
        self.outside_dibao, self.outside_registry = self._outside_counties(cursor)

    def _dibao(self, cursor: CursorWrapper) -> None:
        self._table(
            cursor,
            "recon_d",
            f"SELECT h.id AS d_id, h.county_id, h.number, h.programme, "
            f"COALESCE(bp.monthly_amount, h.monthly_amount) AS amount, "
            f"h.per_capita_income_monthly AS income, "
            f"CASE WHEN bp.kind = %(grace_kind)s OR (h.grace_start IS NOT NULL AND "
            f"h.grace_start <= %(as_of)s AND (h.grace_end IS NULL OR h.grace_end > %(as_of)s)) "
            f"THEN 1 ELSE 0 END AS in_grace, {_township('a')} AS township_id "
            f"FROM {T_HOUSEHOLD} h JOIN recon_scope sc ON sc.county_id = h.county_id "
            f"JOIN {T_AREA} a ON a.id = h.area_id {self._covering_period('h', 'bp')} "
            f"WHERE {self._in_payment('h', 'bp')}",  # nosec B608
            "d_id",
        )

    def _registry(self, cursor: CursorWrapper) -> None:
        self._table(
            cursor,
            "recon_r",
            f"SELECT e.household_id AS r_id, e.id AS entry_id, s.county_id, rh.number, "
            f"e.attribute, e.poverty_status, e.annual_income_per_capita AS income, "
            f"e.dibao_amount_recorded AS amount, {_township('a')} AS township_id "
            f"FROM {T_ENTRY} e JOIN recon_snap s ON s.snapshot_id = e.snapshot_id "
            f"JOIN recon_scope sc ON sc.county_id = s.county_id "
            f"JOIN {T_REGISTRY} rh ON rh.id = e.household_id JOIN {T_AREA} a ON a.id = e.area_id "
            f"WHERE {self._latest_entry('e')}",  # nosec B608
            "r_id",
            "entry_id",
        )

    def _links(self, cursor: CursorWrapper) -> None:
        """One FULL OUTER JOIN of the two member lists on (person, county) — ``recon_pj``, one
        row per person and household pair, with the side missing NULL — and one GROUP BY per
        side over it: each household's linked households on the other side and whether one of
        its members is found there in no household (R or D NULL)."""
        d = self.dialect
        members = (
            f"WITH dm AS (SELECT m.household_id AS d_id, h.county_id, m.person_id "
            f"FROM {T_MEMBER} m JOIN recon_d h ON h.d_id = m.household_id "
            f"WHERE m.left_at IS NULL OR m.left_at > %(as_of)s), "  # nosec B608
            f"rm AS (SELECT r.r_id, r.county_id, sm.person_id, sm.labour_capacity "
            f"FROM {T_SNAPSHOT_MEMBER} sm JOIN recon_r r ON r.entry_id = sm.entry_id) "
        )
        pj_columns = (
            "COALESCE(dm.person_id, rm.person_id) AS person_id, "
            "COALESCE(dm.county_id, rm.county_id) AS county_id, dm.d_id, rm.r_id, "
            "rm.labour_capacity AS labour"
        )
        if d.postgres:
            pj = (
                f"{members} SELECT {pj_columns} FROM dm FULL OUTER JOIN rm "  # nosec B608
                "ON rm.person_id = dm.person_id AND rm.county_id = dm.county_id"
            )
        else:  # the same rows, from two outer joins (SQLite < 3.39 has no FULL JOIN)
            pj = (
                f"{members} SELECT {pj_columns} FROM dm LEFT JOIN rm "
                "ON rm.person_id = dm.person_id AND rm.county_id = dm.county_id UNION ALL "
                f"SELECT {pj_columns} FROM rm LEFT JOIN dm "
                "ON dm.person_id = rm.person_id AND dm.county_id = rm.county_id "
                "WHERE dm.d_id IS NULL"  # nosec B608
            )
        # the whole province: both member tables are read whole, in the order of their index
        # on the household (entry), and merged — about a third faster than hashing a million
        # rows (a smaller scope keeps the hash joins: a merge would read both indexes from
        # their start up to the scope's last household; no nested loops either: merge joins
        # throughout, never a loop over a million rows)
        avoid = ("hashjoin", "nestloop") if self.whole_province else ()
        self._table(cursor, "recon_pj", pj, "d_id", "r_id", "person_id, county_id", avoid=avoid)
        # per household: linked to no household of the other side (``n`` 0), to one (1, the
        # ``partner``) or to more (2) — two differ ⇔ the smallest and largest ids differ — and
        # whether a member is on no other-side household (``loose``)
        for side, other in (("d", "r"), ("r", "d")):
            self._table(
                cursor,
                f"recon_{side}l",
                f"SELECT {side}_id, CASE WHEN MIN({other}_id) IS NULL THEN 0 "
                f"WHEN MIN({other}_id) = MAX({other}_id) THEN 1 ELSE 2 END AS n, "
                f"MIN({other}_id) AS partner, "
                f"MAX(CASE WHEN {other}_id IS NULL THEN 1 ELSE 0 END) AS loose FROM recon_pj "
                f"WHERE {side}_id IS NOT NULL GROUP BY {side}_id",  # nosec B608
                f"{side}_id",
            )
        dibao, tekun = _quote(Programme.DIBAO), _quote(Programme.TEKUN)
        attr_dibao, attr_tekun = _quote(PovertyAttribute.DIBAO), _quote(PovertyAttribute.TEKUN)
        flags = {
            "attr_f": f"(d.programme = {dibao} AND r.attribute <> {attr_dibao}) OR "
            f"(d.programme = {tekun} AND r.attribute <> {attr_tekun})",
            "amount_f": "r.amount IS NOT NULL AND "
            "ABS(ROUND(r.amount * 100) - ROUND(d.amount * 100)) >= 100",
            # one-to-one: the sets differ iff either household has a member found in no
            # household of the other side
            "member_f": "dl.loose = 1 OR rl.loose = 1",
            "exit_f": f"r.poverty_status = {_quote(PovertyStatus.OUT)} AND d.in_grace = 0",
        }
        flag_columns = ", ".join(
            f"CASE WHEN {condition} THEN 1 ELSE 0 END AS {name}"
            for name, condition in flags.items()
        )
        self._table(
            cursor,
            "recon_pc",
            # (a linked pair shares a person in one county: the D's county is the pair's)
            f"SELECT d.d_id, r.r_id, d.county_id, d.number AS d_number, r.number AS r_number, "
            f"d.township_id, d.programme, d.amount AS d_amount, r.amount AS r_amount, "
            f"r.attribute, r.poverty_status, {flag_columns} FROM recon_dl dl "
            f"JOIN recon_rl rl ON rl.r_id = dl.partner AND rl.partner = dl.d_id "  # nosec B608
            f"AND rl.n = 1 JOIN recon_d d ON d.d_id = dl.d_id JOIN recon_r r ON r.r_id = rl.r_id "
            f"WHERE dl.n = 1",
            "d_id",
            "r_id",
        )

    def _found_table(self, cursor: CursorWrapper) -> None:
        t = self.dialect.json_type
        self._run(cursor, "DROP TABLE IF EXISTS recon_found")
        self._run(
            cursor,
            "CREATE TEMPORARY TABLE recon_found (county_id BIGINT NOT NULL, "
            "category VARCHAR(24) NOT NULL, ikey VARCHAR(200) NOT NULL, township_id BIGINT, "
            f"d_id BIGINT, r_id BIGINT, dibao_numbers {t} NOT NULL, registry_numbers {t} NOT NULL, "
            f"person_ids {t} NOT NULL, details {t} NOT NULL)",
        )

    def _insert_found(self, cursor: CursorWrapper, select: str) -> None:
        self._run(
            cursor,
            "INSERT INTO recon_found (county_id, category, ikey, township_id, d_id, r_id, "
            f"dibao_numbers, registry_numbers, person_ids, details) {select}",
        )

    def _found_households(self, cursor: CursorWrapper) -> None:
        d = self.dialect
        self._found_table(cursor)
        flagged = " OR ".join(f"p.{flag} = 1" for flag in PAIR_FLAGS.values())
        # the persons of each pair with a finding: shared ('s'), only in D ('d'), only in R ('r'),
        # from ``recon_px``: a row with a D belongs to the flagged pair of that D, a
        # row without to the member-mismatch pair of its R (``k``: the D id, or minus the R id)
        self._table(
            cursor,
            "recon_pk",
            f"SELECT p.d_id AS k, p.d_id, p.r_id FROM recon_pc p WHERE {flagged} "
            "UNION ALL SELECT -p.r_id, p.d_id, p.r_id FROM recon_pc p "  # nosec B608
            "WHERE p.member_f = 1",
            "k",
        )
        self._candidates(cursor)
        self._rows_looked_at(cursor)
        self._table(
            cursor,
            "recon_pp",
            "SELECT p.d_id, p.r_id, j.person_id, CASE WHEN j.r_id IS NULL THEN 'd' "
            "WHEN j.d_id IS NULL THEN 'r' ELSE 's' END AS side FROM recon_px j "
            "JOIN recon_pk p ON p.k = j.k",
        )
        agg = d.agg("t.person_id", "t.person_id")
        self._table(
            cursor,
            "recon_pl",
            f"SELECT t.d_id, t.r_id, {agg} FILTER (WHERE t.side = 's') AS shared, "
            f"{agg} FILTER (WHERE t.side <> 's') AS diff, "  # nosec B608
            f"{agg} FILTER (WHERE t.side = 'd') AS only_d, "
            f"{agg} FILTER (WHERE t.side = 'r') AS only_r "
            f"FROM (SELECT d_id, r_id, person_id, side FROM recon_pp "
            f"{d.inner_order('d_id, r_id, person_id')}) t GROUP BY t.d_id, t.r_id",
            "d_id, r_id",
        )
        programme = programme_label("p.programme")
        details = {
            C.ATTR_MISMATCH: d.obj(
                dibao_programme=programme,
                registry_attribute=attribute_label("p.attribute"),
            ),
            C.AMOUNT_MISMATCH: d.obj(
                dibao_amount=d.money("p.d_amount"),
                registry_amount=d.money("p.r_amount"),
                difference=d.money("ABS(p.r_amount - p.d_amount)"),
            ),
            C.MEMBER_MISMATCH: d.obj(
                only_in_dibao=d.jor("pl.only_d"), only_in_registry=d.jor("pl.only_r")
            ),
            C.SHOULD_EXIT_REVIEW: d.obj(
                poverty_status=status_label("p.poverty_status"), dibao_programme=programme
            ),
        }
        numbers = f"{d.array('p.d_number')}, {d.array('p.r_number')}"
        for category, flag in PAIR_FLAGS.items():
            persons = "pl.diff" if category == C.MEMBER_MISMATCH else "pl.shared"
            self._insert_found(
                cursor,
                f"SELECT p.county_id, {_quote(category)}, p.d_number || '|' || p.r_number, "
                f"p.township_id, p.d_id, p.r_id, {numbers}, {d.jor(persons)}, "
                f"{details[category]} FROM recon_pc p "  # nosec B608
                f"JOIN recon_pl pl ON pl.d_id = p.d_id AND pl.r_id = p.r_id WHERE p.{flag} = 1",
            )
        self._split(cursor)
        self._unlinked(cursor)

    def _split(self, cursor: CursorWrapper) -> None:
        """A D linked to two or more R (and the other way round): one item per household."""
        d = self.dialect
        for side, other in (("d", "r"), ("r", "d")):
            prefix = "D:" if side == "d" else "R:"
            # the other side's households of each split household, and the persons they share
            self._table(
                cursor,
                "recon_sx",
                f"SELECT t.h_id, {d.agg('t.number', d.text_order('t.number'))} AS numbers "
                f"FROM (SELECT l.h_id, o.number FROM (SELECT DISTINCT j.{side}_id AS h_id, "
                f"j.{other}_id AS o_id FROM recon_px j JOIN recon_{side}l s "
                f"ON s.{side}_id = j.{side}_id AND s.n > 1 WHERE j.{other}_id IS NOT NULL) l "
                f"JOIN recon_{other} o ON o.{other}_id = l.o_id "
                f"{d.inner_order('l.h_id, ' + d.text_order('o.number'))}) t "
                f"GROUP BY t.h_id",  # nosec B608
                "h_id",
            )
            self._table(
                cursor,
                "recon_sy",
                f"SELECT t.h_id, {d.agg('t.person_id', 't.person_id')} AS ids FROM ("
                f"SELECT DISTINCT j.{side}_id AS h_id, j.person_id FROM recon_px j "
                f"JOIN recon_sx x ON x.h_id = j.{side}_id WHERE j.{other}_id IS NOT NULL "
                f"{d.inner_order('1, 2')}) t GROUP BY t.h_id",  # nosec B608
                "h_id",
            )
            own_array = d.array("h.number")
            other_key = "registry_households" if side == "d" else "dibao_households"
            if side == "d":
                lists = f"{own_array}, {d.j('x.numbers')}"
            else:
                lists = f"{d.j('x.numbers')}, {own_array}"
            self._insert_found(
                cursor,
                f"SELECT h.county_id, {_quote(C.SPLIT_HOUSEHOLD)}, {_quote(prefix)} || h.number, "
                f"h.township_id, {'h.d_id, NULL' if side == 'd' else 'NULL, h.r_id'}, {lists}, "
                f"{d.j('y.ids')}, {d.obj(**{other_key: d.j('x.numbers')})} "
                f"FROM recon_sx x JOIN recon_{side} h ON h.{side}_id = x.h_id "
                f"JOIN recon_sy y ON y.h_id = x.h_id",  # nosec B608
            )

    def _candidates(self, cursor: CursorWrapper) -> None:
        """The households linked to nothing on the other side that may become items."""
        marked = ", ".join(_quote(v) for v in (PovertyAttribute.DIBAO, PovertyAttribute.TEKUN))
        poor = ", ".join(_quote(v) for v in (PovertyStatus.NOT_OUT, PovertyStatus.RETURNED))
        # the unlinked households that may become items, with their values (only their members
        # are aggregated; the items are written from these few rows, not from the rosters)
        self._table(
            cursor,
            "recon_cr",
            f"SELECT r.*, sc.std_cents, sc.std_text FROM recon_r r "
            f"JOIN recon_scope sc ON sc.county_id = r.county_id "
            f"WHERE (r.attribute IN ({marked}) OR (r.poverty_status IN ({poor}) "
            f"AND ROUND(r.income * 100) < sc.std_cents * 12)) "  # nosec B608
            f"AND NOT EXISTS (SELECT 1 FROM recon_rl rl WHERE rl.r_id = r.r_id AND rl.n > 0)",
            "r_id",
        )
        self._table(
            cursor,
            "recon_cd",
            "SELECT h.* FROM recon_d h WHERE ROUND(h.income * 100) * 12 < %(line_cents)s "
            "AND NOT EXISTS (SELECT 1 FROM recon_dl dl WHERE dl.d_id = h.d_id AND dl.n > 0)",
            "d_id",
        )
        # ``k`` is the D id or minus the R id, the key of ``recon_px``'s rows
        self._table(
            cursor,
            "recon_cand",
            "SELECT 'r' AS side, r_id AS h_id, -r_id AS k FROM recon_cr "
            "UNION ALL SELECT 'd', d_id, d_id FROM recon_cd",
            "k",
        )

    def _rows_looked_at(self, cursor: CursorWrapper) -> None:
        """``recon_px``: the rows of ``recon_pj`` the household categories look at again, read
        out in ONE pass — those of the pairs with a finding (``recon_pk``), of the unlinked
        candidates (``recon_cand``) and of the split households (``n`` > 1) — with ``k``, the
        D id or minus the R id of a row without D (the key of ``recon_pk`` and ``recon_cand``;
        a split D's rows all have their D, a split R's are picked by their R)."""
        self._table(
            cursor,
            "recon_px",
            "SELECT j.person_id, j.county_id, j.d_id, j.r_id, j.labour, "
            "COALESCE(j.d_id, -j.r_id) AS k FROM recon_pj j "
            "WHERE COALESCE(j.d_id, -j.r_id) IN (SELECT k FROM recon_pk UNION ALL "
            "SELECT k FROM recon_cand UNION ALL SELECT d_id FROM recon_dl WHERE n > 1) "
            "OR j.r_id IN (SELECT r_id FROM recon_rl WHERE n > 1)",
            "k",
            "d_id",
            "r_id",
        )

    def _unlinked(self, cursor: CursorWrapper) -> None:
        """The categories of a household linked to nothing on the other side."""
        d = self.dialect
        marked = ", ".join(_quote(v) for v in (PovertyAttribute.DIBAO, PovertyAttribute.TEKUN))
        poor = ", ".join(_quote(v) for v in (PovertyStatus.NOT_OUT, PovertyStatus.RETURNED))
        able = ", ".join(_quote(v) for v in (LabourCapacity.ORDINARY, LabourCapacity.SKILLED))
        self._table(
            cursor,
            "recon_members",
            # (``recon_px``'s rows: an unlinked R's rows have no D, an unlinked D's no R)
            f"SELECT t.side, t.h_id, {d.agg('t.person_id', 't.person_id')} AS ids, "
            f"MAX(t.able) AS has_able FROM (SELECT c.side, c.h_id, j.person_id, "
            f"CASE WHEN j.labour IN ({able}) THEN 1 ELSE 0 END AS able FROM recon_px j "
            f"JOIN recon_cand c ON c.k = j.k "  # nosec B608
            f"{d.inner_order('1, 2, 3')}) t GROUP BY t.side, t.h_id",
            "side, h_id",
        )
        unlinked_r = (
            "FROM recon_cr r LEFT JOIN recon_members m ON m.side = 'r' AND m.h_id = r.r_id WHERE"
        )
        r_columns = (
            f"r.county_id, %(category)s, r.number, r.township_id, NULL, r.r_id, {d.array()}, "
            f"{d.array('r.number')}, {d.jor('m.ids')}"
        )
        self._run(
            cursor,
            "INSERT INTO recon_found (county_id, category, ikey, township_id, d_id, r_id, "
            "dibao_numbers, registry_numbers, person_ids, details) "
            f"SELECT {r_columns}, "
            + d.obj(
                registry_attribute=attribute_label("r.attribute"),
                poverty_status=status_label("r.poverty_status"),
            )
            + f" {unlinked_r} r.attribute IN ({marked})",
            {"category": C.REGISTRY_DIBAO_MISSING.value},
        )
        self._run(
            cursor,
            "INSERT INTO recon_found (county_id, category, ikey, township_id, d_id, r_id, "
            "dibao_numbers, registry_numbers, person_ids, details) "
            f"SELECT {r_columns}, "
            + d.obj(
                poverty_status=status_label("r.poverty_status"),
                annual_income_per_capita=d.money("r.income"),
                standard_monthly="r.std_text",
            )
            + f" {unlinked_r} r.poverty_status IN ({poor}) AND COALESCE(m.has_able, 0) = 0 "
            "AND ROUND(r.income * 100) < r.std_cents * 12",
            {"category": C.SHOULD_PROTECT.value},
        )
        self._insert_found(
            cursor,
            f"SELECT h.county_id, {_quote(C.SHOULD_REGISTER)}, h.number, h.township_id, h.d_id, "
            f"NULL, {d.array('h.number')}, {d.array()}, {d.jor('m.ids')}, "
            + d.obj(
                income_per_capita_monthly=d.money("h.income"),
                poverty_line="%(line_text)s",
                dibao_programme=programme_label("h.programme"),
            )
            + " FROM recon_cd h LEFT JOIN recon_members m ON m.side = 'd' AND m.h_id = h.d_id",
        )

    def _outside_counties(self, cursor: CursorWrapper) -> tuple[bool, bool]:
        """Whether any county outside the scope has dibao households / registry snapshots."""
        # (area by area, one index probe each: not a scan of every household of the province)
        cursor.execute(
            f"SELECT EXISTS (SELECT 1 FROM {T_AREA} a WHERE a.id NOT IN "
            "(SELECT county_id FROM recon_scope) AND EXISTS "  # nosec B608
            f"(SELECT 1 FROM {T_HOUSEHOLD} h WHERE h.county_id = a.id)), "
            "EXISTS (SELECT 1 FROM recon_snap WHERE "
            "county_id NOT IN (SELECT county_id FROM recon_scope))",
            {},
        )
        dibao, registry = cursor.fetchone()
        return bool(dibao), bool(registry)

    def _found_persons(self, cursor: CursorWrapper) -> None:
        """``duplicate_person`` and ``dibao_and_tekun``: a person of the scope's dibao roster in
        two dibao households, or of its registry in two registry households, of any counties
        (one GROUP BY over the scope's memberships plus the other counties' memberships of the
        same persons); or paid by both 低保 and 特困."""
        d = self.dialect
        outside_dibao, outside_registry = self.outside_dibao, self.outside_registry
        # (table, columns) of every membership row: the scope's, then the other counties'
        sources = [("recon_pj", "person_id, d_id, r_id")]
        if outside_dibao:
            self._table(
                cursor,
                "recon_dout",
                f"SELECT m.person_id, h.id AS d_id, h.county_id, h.programme, h.number "
                f"FROM {T_MEMBER} m JOIN {T_HOUSEHOLD} h ON h.id = m.household_id "
                f"{self._covering_period('h', 'bp')} "
                f"WHERE h.county_id NOT IN (SELECT county_id FROM recon_scope) "
                f"AND m.person_id IN (SELECT person_id FROM recon_pj WHERE d_id IS NOT NULL) "
                f"AND (m.left_at IS NULL OR m.left_at > %(as_of)s) "
                f"AND {self._in_payment('h', 'bp')}",  # nosec B608
                "person_id",
            )
            sources.append(("recon_dout", "person_id, d_id, NULL"))
        if outside_registry:
            self._table(
                cursor,
                "recon_rout",
                f"SELECT sm.person_id, e.household_id AS r_id, s.county_id, rh.number "
                f"FROM {T_SNAPSHOT_MEMBER} sm JOIN {T_ENTRY} e ON e.id = sm.entry_id "
                f"JOIN recon_snap s ON s.snapshot_id = e.snapshot_id "
                f"JOIN {T_REGISTRY} rh ON rh.id = e.household_id "
                f"WHERE s.county_id NOT IN (SELECT county_id FROM recon_scope) "
                f"AND sm.person_id IN (SELECT person_id FROM recon_pj WHERE r_id IS NOT NULL) "
                f"AND {self._latest_entry('e')}",  # nosec B608
                "person_id",
            )
            sources.append(("recon_rout", "person_id, NULL, r_id"))
        # the persons with more than one membership row (the cheapest GROUP BY over them all:
        # a count); only theirs are looked at again
        self._table(
            cursor,
            "recon_multi",
            "SELECT person_id FROM ("  # nosec B608
            + " UNION ALL ".join(
                f"SELECT {columns} FROM {table}"  # nosec B608 - the computation's own tables
                for table, columns in sources
            )
            + ") t GROUP BY person_id HAVING COUNT(*) > 1",
            "person_id",
            # one group per person: sorting a million ids takes about half the time of
            # building a hash table of a million groups
            avoid=("hashagg",),
        )
        # the scope's memberships of those persons, read out of ``recon_pj`` once (every later
        # person table starts from these few rows, not from another pass over the province)
        self._table(
            cursor,
            "recon_pjd",
            "SELECT DISTINCT j.person_id, j.county_id, j.d_id, j.r_id FROM recon_pj j "
            "JOIN recon_multi u ON u.person_id = j.person_id",
            "person_id",
        )
        # two distinct households on a side ⇔ their smallest and largest ids differ (over the
        # same memberships, of those persons only)
        sources[0] = ("recon_pjd", "person_id, d_id, r_id")
        memberships = " UNION ALL ".join(
            f"SELECT {columns} FROM {table} WHERE person_id IN "  # nosec B608
            "(SELECT person_id FROM recon_multi)"
            for table, columns in sources
        )
        self._table(
            cursor,
            "recon_dup",
            f"SELECT person_id, CASE WHEN MIN(d_id) <> MAX(d_id) THEN 1 ELSE 0 END AS in_d, "
            f"CASE WHEN MIN(r_id) <> MAX(r_id) THEN 1 ELSE 0 END AS in_r "
            f"FROM ({memberships}) t GROUP BY person_id "  # nosec B608
            f"HAVING MIN(d_id) <> MAX(d_id) OR MIN(r_id) <> MAX(r_id)",
            "person_id",
        )
        # the households of those memberships (``recon_ph{d,r}``: a few rows of ``recon_d``,
        # ``recon_r``, so the joins below do not read the whole rosters again)
        for side in ("d", "r"):
            self._table(
                cursor,
                f"recon_ph{side}",
                f"SELECT h.* FROM recon_{side} h WHERE h.{side}_id IN "
                f"(SELECT {side}_id FROM recon_pjd)",  # nosec B608
                f"{side}_id",
            )
        self._table(
            cursor,
            "recon_dx",
            "SELECT j.person_id, h.d_id, h.county_id, h.programme, h.number FROM (SELECT "
            "DISTINCT person_id, d_id FROM recon_pjd WHERE d_id IS NOT NULL AND person_id IN "
            "(SELECT person_id FROM recon_dup WHERE in_d = 1)) j "
            "JOIN recon_phd h ON h.d_id = j.d_id"
            + (
                " UNION ALL SELECT o.person_id, o.d_id, o.county_id, o.programme, o.number "
                "FROM recon_dout o "
                "WHERE o.person_id IN (SELECT person_id FROM recon_dup WHERE in_d = 1)"
                if outside_dibao
                else ""
            ),  # nosec B608
            "person_id",
        )
        self._table(
            cursor,
            "recon_rx",
            "SELECT j.person_id, h.r_id, h.county_id, h.number FROM (SELECT "
            "DISTINCT person_id, r_id FROM recon_pjd WHERE r_id IS NOT NULL AND person_id IN "
            "(SELECT person_id FROM recon_dup WHERE in_r = 1)) j "
            "JOIN recon_phr h ON h.r_id = j.r_id"
            + (
                " UNION ALL SELECT o.person_id, o.r_id, o.county_id, o.number FROM recon_rout o "
                "WHERE o.person_id IN (SELECT person_id FROM recon_dup WHERE in_r = 1)"
                if outside_registry
                else ""
            ),  # nosec B608
            "person_id",
        )
        in_scope = "JOIN recon_scope sc ON sc.county_id = x.county_id"
        self._table(
            cursor,
            "recon_pitems",
            f"SELECT DISTINCT x.county_id, x.person_id, {_quote(C.DUPLICATE_PERSON)} AS category "
            f"FROM recon_dx x {in_scope} UNION "  # nosec B608
            f"SELECT DISTINCT x.county_id, x.person_id, {_quote(C.DUPLICATE_PERSON)} "
            f"FROM recon_rx x {in_scope} UNION "
            f"SELECT DISTINCT x.county_id, x.person_id, {_quote(C.DIBAO_AND_TEKUN)} "
            f"FROM recon_dx x {in_scope} WHERE x.person_id IN (SELECT person_id FROM recon_dx "
            f"GROUP BY person_id HAVING MIN(programme) <> MAX(programme))",
            "person_id",
        )
        # the person's own households in the county (item links, township, numbers)
        for side in ("d", "r"):
            numbers = d.agg("t.number", d.text_order("t.number"))
            self._table(
                cursor,
                f"recon_pf{side}",
                f"SELECT t.county_id, t.person_id, MIN(t.h_id) AS h_id, {numbers} AS numbers "
                f"FROM (SELECT m.county_id, m.person_id, h.{side}_id AS h_id, h.number "
                f"FROM (SELECT DISTINCT county_id, person_id, {side}_id FROM recon_pjd "
                f"WHERE {side}_id IS NOT NULL AND person_id IN (SELECT person_id FROM "
                f"recon_pitems)) m JOIN recon_ph{side} h ON h.{side}_id = m.{side}_id "
                f"{d.inner_order('m.county_id, m.person_id, ' + d.text_order('h.number'))}) t "
                f"GROUP BY t.county_id, t.person_id",  # nosec B608
                "county_id, person_id",
            )
        # every household of the person, in every county, as text for the worklist
        described = {
            "d": f"ca.name || ' ' || x.number || '（' || {programme_label('x.programme')} || '）'",
            "r": "ca.name || ' ' || x.number",
        }
        for side in ("d", "r"):
            households = d.agg("t.label", f"t.code, {d.text_order('t.number')}")
            self._table(
                cursor,
                f"recon_p{side}x",
                f"SELECT t.person_id, {households} AS households FROM (SELECT x.person_id, "
                f"ca.code, x.number, {described[side]} AS label FROM recon_{side}x x "
                f"JOIN {T_AREA} ca ON ca.id = x.county_id "
                f"{d.inner_order('x.person_id, ca.code, ' + d.text_order('x.number'))}) t "
                f"GROUP BY t.person_id",  # nosec B608
                "person_id",
            )
        base = (
            f"SELECT pi.county_id, pi.category, p.id_number_hash, "
            f"COALESCE(hd.township_id, hr.township_id), fd.h_id, fr.h_id, {d.jor('fd.numbers')}, "
            f"{d.jor('fr.numbers')}, {d.array('pi.person_id')}, %s "
            f"FROM recon_pitems pi JOIN {T_PERSON} p ON p.id = pi.person_id "
            f"LEFT JOIN recon_pfd fd ON fd.county_id = pi.county_id "
            f"AND fd.person_id = pi.person_id "  # nosec B608
            f"LEFT JOIN recon_phd hd ON hd.d_id = fd.h_id "
            f"LEFT JOIN recon_pfr fr ON fr.county_id = pi.county_id "
            f"AND fr.person_id = pi.person_id "
            f"LEFT JOIN recon_phr hr ON hr.r_id = fr.h_id "
            f"LEFT JOIN recon_pdx px ON px.person_id = pi.person_id "
            f"LEFT JOIN recon_prx py ON py.person_id = pi.person_id WHERE pi.category = %s"
        )
        both = d.obj(
            dibao_households=d.jor("px.households"), registry_households=d.jor("py.households")
        )
        self._insert_found(cursor, base % (both, _quote(C.DUPLICATE_PERSON)))
        dibao_only = d.obj(dibao_households=d.jor("px.households"))
        self._insert_found(cursor, base % (dibao_only, _quote(C.DIBAO_AND_TEKUN)))

    def _results(self, cursor: CursorWrapper) -> dict[int, CountyResult]:
        results = {s.county_id: CountyResult(counts=dict.fromkeys(C.values, 0)) for s in self.scope}
        cursor.execute(
            "SELECT county_id, category, COUNT(*) FROM recon_found GROUP BY county_id, category",
            {},
        )
        for county_id, category, count in cursor.fetchall():
            results[county_id].counts[category] = count
        flagged = " OR ".join(f"{flag} = 1" for flag in PAIR_FLAGS.values())
        cursor.execute(
            f"SELECT county_id, COUNT(*) FROM recon_pc "  # nosec B608
            f"WHERE NOT ({flagged}) GROUP BY county_id",
            {},
        )
        for county_id, count in cursor.fetchall():
            results[county_id].counts[C.LINKED] = count
        cursor.execute("SELECT county_id, COUNT(*) FROM recon_d GROUP BY county_id", {})
        for county_id, count in cursor.fetchall():
            results[county_id].dibao_households = count
        cursor.execute("SELECT county_id, COUNT(*) FROM recon_r GROUP BY county_id", {})
        for county_id, count in cursor.fetchall():
            results[county_id].registry_households = count
        cursor.execute(
            "SELECT county_id, MAX(snapshot_id) FROM recon_snap WHERE county_id IN "
            "(SELECT county_id FROM recon_scope) GROUP BY county_id",
            {},
        )
        for county_id, snapshot_id in cursor.fetchall():
            results[county_id].registry_snapshot_id = snapshot_id
        return results

    # -- write (the caller holds the transaction) -------------------------------------------

    def write(self, now: datetime) -> None:
        """Carry the findings over into the items, in the caller's transaction.

        - a finding with no item yet → a new open item, event ``found``;
        - an item found again keeps its state and history; a resolved one gets ``found_again``
          (it stays resolved: the township decided, and the decision stands while the data
          still shows the same finding), an open one needs no event (the finding row says it);
        - an item closed by the data that is found again is reopened (event ``reopened``);
        - an item of the scope's counties not found any more is closed (``closed_by_data``).
        Every found item is linked to its county's run (``ReconciliationFinding``).
        """
        d = self.dialect
        params = {
            "now": connection.ops.adapt_datetimefield_value(now),
            "open": ItemState.OPEN.value,
            "closed": ItemState.CLOSED_BY_DATA.value,
            "found": ItemEvent.Action.FOUND.value,
            "found_again": ItemEvent.Action.FOUND_AGAIN.value,
            "reopened": ItemEvent.Action.REOPENED.value,
            "closed_action": ItemEvent.Action.CLOSED_BY_DATA.value,
            "note_found": NOTE_FOUND,
            "note_found_again": NOTE_FOUND_AGAIN,
            "note_reopened": NOTE_REOPENED,
            "note_closed": NOTE_CLOSED,
        }
        event_columns = f"INSERT INTO {T_EVENT} (item_id, run_id, action, state_from, state_to, "
        event_columns += "actor_id, at, note) "
        with connection.cursor() as cursor:
            self._table(
                cursor,
                "recon_f2",
                "SELECT f.*, sc.run_id, i.id AS item_id, i.state AS prev_state "
                "FROM recon_found f JOIN recon_scope sc ON sc.county_id = f.county_id "
                f"LEFT JOIN {T_ITEM} i "  # nosec B608
                f'ON i.county_id = f.county_id AND i.category = f.category AND i."key" = f.ikey',
                "item_id",
            )
            # 1. items that disappeared from the data (looked for once; usually few)
            self._table(
                cursor,
                "recon_gone",
                f"SELECT i.id AS item_id, sc.run_id, i.state FROM {T_ITEM} i "
                "JOIN recon_scope sc ON sc.county_id = i.county_id "
                "WHERE i.state <> %(closed)s AND NOT EXISTS "  # nosec B608
                "(SELECT 1 FROM recon_f2 f WHERE f.item_id = i.id)",
                "item_id",
                params=params,
            )
            self._run(
                cursor,
                event_columns  # nosec B608 - constant column list, values are parameters
                + "SELECT g.item_id, g.run_id, %(closed_action)s, g.state, "
                "%(closed)s, NULL, %(now)s, %(note_closed)s FROM recon_gone g",
                params,
            )
            self._run(
                cursor,
                f"UPDATE {T_ITEM} SET state = %(closed)s, updated_at = %(now)s "
                "WHERE id IN (SELECT item_id FROM recon_gone)",  # nosec B608
                params,
            )
            # 2. items found again: events first (they read the state before the update)
            self._run(
                cursor,
                event_columns + "SELECT f.item_id, f.run_id, CASE WHEN f.prev_state = %(closed)s "
                "THEN %(reopened)s ELSE %(found_again)s END, f.prev_state, CASE WHEN "
                "f.prev_state = %(closed)s THEN %(open)s ELSE f.prev_state END, NULL, %(now)s, "
                "CASE WHEN f.prev_state = %(closed)s THEN %(note_reopened)s "
                "ELSE %(note_found_again)s END FROM recon_f2 f "  # nosec B608
                "WHERE f.item_id IS NOT NULL AND f.prev_state <> %(open)s",
                params,
            )
            reopened = f"{T_ITEM}.state = %(closed)s"
            self._run(
                cursor,
                f"UPDATE {T_ITEM} SET last_run_id = f.run_id, township_id = f.township_id, "
                "dibao_household_id = f.d_id, registry_household_id = f.r_id, "
                "dibao_numbers = f.dibao_numbers, registry_numbers = f.registry_numbers, "
                f"person_ids = f.person_ids, "  # nosec B608
                f"details = {d.merge(f'{T_ITEM}.details', 'f.details')}, "
                f"resolved_by_id = CASE WHEN {reopened} THEN NULL "
                f"ELSE {T_ITEM}.resolved_by_id END, "
                f"resolved_at = CASE WHEN {reopened} THEN NULL ELSE {T_ITEM}.resolved_at END, "
                f"resolution_note = CASE WHEN {reopened} THEN '' "
                f"ELSE {T_ITEM}.resolution_note END, "
                f"state = CASE WHEN {reopened} THEN %(open)s ELSE {T_ITEM}.state END, "
                f"updated_at = %(now)s FROM recon_f2 f WHERE {T_ITEM}.id = f.item_id",
                params,
            )
            # 3. new findings
            self._run(
                cursor,
                f"INSERT INTO {T_ITEM} (created_at, updated_at, county_id, township_id, category, "
                '"key", '  # nosec B608
                "dibao_household_id, registry_household_id, dibao_numbers, registry_numbers, "
                "person_ids, details, state, first_run_id, last_run_id, resolved_by_id, "
                "resolved_at, resolution_note) SELECT %(now)s, %(now)s, f.county_id, "
                "f.township_id, f.category, f.ikey, f.d_id, f.r_id, f.dibao_numbers, "
                "f.registry_numbers, f.person_ids, f.details, %(open)s, f.run_id, f.run_id, NULL, "
                "NULL, '' FROM recon_f2 f WHERE f.item_id IS NULL",
                params,
            )
            new_items = (
                f"FROM recon_f2 f JOIN {T_ITEM} i ON i.county_id = f.county_id "
                'AND i.category = f.category AND i."key" = f.ikey'
            )
            self._run(
                cursor,
                event_columns + "SELECT i.id, f.run_id, %(found)s, '', %(open)s, NULL, %(now)s, "
                f"%(note_found)s {new_items} WHERE f.item_id IS NULL",
                params,
            )
            # 4. the runs' finding lists (none exist yet: they are written only here, in the
            # transaction that makes the run FINISHED, and a finished run is never claimed again)
            # (the items found again are known from ``recon_f2``; only the new ones are joined;
            # in the order of the (run, item) index: its pages are filled one after the other)
            self._run(
                cursor,
                f"INSERT INTO {T_FINDING} (run_id, item_id) SELECT t.run_id, t.item_id FROM ("
                "SELECT f.run_id, f.item_id FROM recon_f2 f WHERE f.item_id IS NOT NULL "
                f"UNION ALL SELECT f.run_id, i.id {new_items} WHERE f.item_id IS NULL) t "
                "ORDER BY t.run_id, t.item_id",  # nosec B608
            )
