"""Temporary staging tables and bulk writers for streaming imports (quality.md P3, P4).

A streaming import keeps nothing per row in memory: parsed rows go into a temporary table of the
current database connection, household-level and cross-file checks run as SQL over it
(``GROUP BY``, ``JOIN`` with the domain tables), and the rows come back ordered by household
through a server-side cursor. Rows are written with one ``COPY`` on PostgreSQL, in chunks of
``executemany`` on SQLite.

- **No migration, no leftovers.** The tables are ``CREATE TEMP TABLE``: private to the connection,
  dropped when it closes. ``drop_leftovers`` removes what an earlier import on the same
  connection left (an import that was parsed but never applied), so at most one import's
  staging lives on a connection.
- **Nothing sensitive in plain text.** Callers put ID numbers and bank accounts into staging only
  inside ``protection.encrypt``-ed values, and look persons up by their blind index.
- **Writers spool to disk.** ``BulkWriter`` buffers its rows in a temporary file and writes them
  in one statement at ``flush``: a ``COPY`` cannot run while a server-side cursor on the same
  connection is being read, and the spool keeps memory flat meanwhile.
"""

import itertools
import json
import re
import tempfile
from collections.abc import Iterator, Sequence
from datetime import date
from decimal import Decimal
from itertools import islice
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import BooleanField, Model, Q
from django.db.models.expressions import RawSQL
from django.utils import timezone
from psycopg.types.json import Jsonb

TABLE_PREFIX = "lowbao_stage_"
SPOOL_IN_MEMORY_BYTES = 4 * 1024 * 1024
COPY_CHUNK_BYTES = 1024 * 1024
SQLITE_INSERT_ROWS = 2000
FETCH_ROWS = 5000
STAGE_IN_MEMORY_ROWS = 5000
SPOOL_LINES = 500  # rows a writer gathers before writing them to its spool

_names = itertools.count(1)
_NEEDS_ESCAPE = re.compile(r"[\\\t\n\r\x00]")
_LINE_BREAK_OR_NUL = re.compile(r"[\n\r\x00]")
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\x00": ""})
# Values whose ``str`` is their COPY text as it is (digits, signs, points, dashes: no escape).
_PLAIN_TYPES = frozenset({int, float, Decimal, date})


def is_postgresql() -> bool:
    return connection.vendor == "postgresql"


def quote(name: str) -> str:
    return connection.ops.quote_name(name)


class TempTable:
    """A temporary table of the current connection. ``columns`` are (name, SQL type) pairs with
    portable types (``integer``, ``bigint``, ``text``). Names are unique per run, so a run that is
    still held (parsed, not yet applied) keeps its tables while the next one creates its own."""

    def __init__(self, name: str, columns: Sequence[tuple[str, str]], *, primary_key: str) -> None:
        self.name = f"{TABLE_PREFIX}{name}_{next(_names)}"
        self.columns = list(columns)
        self.primary_key = primary_key

    @property
    def sql_name(self) -> str:
        return quote(self.name)

    def definition(self) -> str:
        columns = ", ".join(
            f"{quote(name)} {kind}{' PRIMARY KEY' if name == self.primary_key else ''}"
            for name, kind in self.columns
        )
        return f"CREATE TEMP TABLE {self.sql_name} ({columns})"

    def create(self) -> None:
        create_tables([self])

    def is_alive(self) -> bool:
        """The table is still there: created on this connection and not dropped since; if it
        was created inside a transaction, also not rolled back (asked of the database)."""
        created_in_transaction = _registry().get(self.name)
        if created_in_transaction is None:
            return False
        if not created_in_transaction:
            return True
        with connection.cursor() as cursor:
            if is_postgresql():
                cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [f"pg_temp.{self.name}"])
            else:
                cursor.execute(
                    "SELECT COUNT(*) FROM sqlite_temp_master WHERE type = 'table' AND name = %s",
                    [self.name],
                )
            return bool(cursor.fetchone()[0])

    def analyze(self, columns: Sequence[str] = ()) -> None:
        """Give the planner the table's statistics (autovacuum never sees temporary tables):
        its size, and the distribution of ``columns`` (every column when none is named; naming
        the ones that are joined and grouped on spares sampling wide text)."""
        if is_postgresql():
            named = f" ({', '.join(quote(name) for name in columns)})" if columns else ""
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {self.sql_name}{named}")

    def drop(self) -> None:
        drop_tables([self.name])

    def writer(self, *, streaming: bool = False) -> "BulkWriter":
        return BulkWriter(self.name, [name for name, _kind in self.columns], streaming=streaming)


def _registry() -> dict[str, bool]:
    """The staging tables created on the current database connection (name → created inside a
    transaction). Kept on the connection object and bound to the driver's connection, so it
    empties itself when the connection is closed and opened again, as temporary tables do."""
    connection.ensure_connection()
    raw = connection.connection
    held = getattr(connection, "lowbao_staging_tables", None)
    if held is None or held[0] is not raw:
        held = (raw, {})
        connection.lowbao_staging_tables = held
    return held[1]


def create_tables(tables: Sequence[TempTable]) -> None:
    """Create the tables (one round trip on PostgreSQL)."""
    statements = [table.definition() for table in tables]
    with connection.cursor() as cursor:
        if is_postgresql():
            cursor.execute("; ".join(statements))
        else:
            for statement in statements:
                cursor.execute(statement)
    registry = _registry()
    for table in tables:
        registry[table.name] = connection.in_atomic_block


def drop_tables(names: Sequence[str]) -> None:
    """Drop those of the named tables this connection holds (one statement on PostgreSQL)."""
    registry = _registry()
    held = [name for name in names if name in registry]
    if not held:
        return
    with connection.cursor() as cursor:
        if is_postgresql():
            cursor.execute(f"DROP TABLE IF EXISTS {', '.join(quote(name) for name in held)}")
        else:
            for name in held:
                cursor.execute(f"DROP TABLE IF EXISTS {quote(name)}")
    for name in held:
        registry.pop(name, None)


def drop_leftovers() -> None:
    """Drop every staging table an earlier import left on this connection (a run parsed and
    never applied); no statement when there is none."""
    drop_tables(list(_registry()))


class BulkWriter:
    """Rows for one table, spooled to a temporary file and written at ``flush``: one ``COPY`` on
    PostgreSQL, ``executemany`` in chunks of ``SQLITE_INSERT_ROWS`` on SQLite. Values are
    ``None``, ``str``, ``int`` or ``bool``.

    ``streaming`` (PostgreSQL, outside a transaction): the rows go to the server as they come,
    ``SPOOL_LINES`` at a time, through a ``COPY`` left open, so that the server stores them while
    the caller goes on; ``pause`` ends that ``COPY`` (another statement needs the connection),
    the next rows open a new one, and ``flush`` ends the last. ``close`` abandons one still open:
    the rows it carried are not written. Inside a transaction the rows are spooled as above (an
    abandoned ``COPY`` would abort the transaction)."""

    def __init__(self, table: str, columns: Sequence[str], *, streaming: bool = False) -> None:
        self.table = table
        self.columns = list(columns)
        self.count = 0
        self._postgresql = is_postgresql()
        self._streaming = streaming and self._postgresql and not connection.in_atomic_block
        self._copy: tuple[Any, Any, Any] | None = None  # (cursor, its COPY block, the Copy)
        self._lines: list[str] = []  # rows not yet in the spool (written SPOOL_LINES at a time)
        self._spool = tempfile.SpooledTemporaryFile(  # noqa: SIM115 - closed by flush/close
            max_size=SPOOL_IN_MEMORY_BYTES, mode="w+", encoding="utf-8", newline="\n"
        )

    def add(self, values: Sequence[Any]) -> None:
        if self._postgresql:
            # _copy_text inlined for the usual values: this runs for every cell. Text goes in as
            # it is, then the whole line is checked at once: no tab but the separators, no
            # backslash but those of the NULL markers and no line break or NUL means that no
            # value needed escaping; otherwise the line is made again value by value.
            line = "\t".join(
                [
                    value
                    if type(value) is str
                    else "\\N"
                    if value is None
                    else str(value)
                    if type(value) in _PLAIN_TYPES
                    else _copy_text(value)
                    for value in values
                ]
            )
            if (
                line.count("\t") != len(values) - 1
                or line.count("\\") != values.count(None)
                or _LINE_BREAK_OR_NUL.search(line)
            ):
                line = "\t".join([_copy_text(value) for value in values])
        else:
            line = json.dumps(list(values), ensure_ascii=False, default=str)
        self._lines.append(line)
        self.count += 1
        if len(self._lines) >= SPOOL_LINES:
            self._spool_lines()

    def _spool_lines(self) -> None:
        if self._lines:
            self._lines.append("")  # the last line's end
            text = "\n".join(self._lines)
            self._lines = []
            if self._streaming:
                self._open_copy().write(text)
            else:
                self._spool.write(text)

    def _copy_sql(self) -> str:
        columns = ", ".join(quote(name) for name in self.columns)
        return f"COPY {quote(self.table)} ({columns}) FROM STDIN"

    def _open_copy(self) -> Any:
        if self._copy is None:
            cursor = connection.cursor()
            try:
                block = cursor.cursor.copy(self._copy_sql())
                self._copy = (cursor, block, block.__enter__())
            except BaseException:
                cursor.close()
                raise
        return self._copy[2]

    def _end_copy(self, error: BaseException | None = None) -> None:
        if self._copy is None:
            return
        cursor, block, _copy = self._copy
        self._copy = None
        try:
            block.__exit__(type(error) if error else None, error, None)
        finally:
            cursor.close()

    def pause(self) -> None:
        """Send the rows added so far and end the ``COPY`` in progress, if any, so that other
        statements can run on the connection (streaming only; otherwise nothing)."""
        if self._streaming:
            self._spool_lines()
            self._end_copy()

    def flush(self) -> int:
        """Write the spooled rows; returns how many were written."""
        if self._streaming:
            self.pause()
            written, self.count = self.count, 0
            return written
        self._spool_lines()
        written = self.count
        if written:
            self._spool.seek(0)
            columns = ", ".join(quote(name) for name in self.columns)
            with connection.cursor() as cursor:
                if self._postgresql:
                    with cursor.cursor.copy(self._copy_sql()) as copy:
                        while chunk := self._spool.read(COPY_CHUNK_BYTES):
                            copy.write(chunk)
                else:
                    placeholders = ", ".join(["%s"] * len(self.columns))
                    sql = f"INSERT INTO {quote(self.table)} ({columns}) VALUES ({placeholders})"  # noqa: S608  # nosec B608 - quoted names from the model, values as parameters
                    lines = (json.loads(line) for line in self._spool)
                    while chunk := list(islice(lines, SQLITE_INSERT_ROWS)):
                        cursor.executemany(sql, chunk)
        self.close()
        self._spool = tempfile.SpooledTemporaryFile(  # noqa: SIM115 - closed by flush/close
            max_size=SPOOL_IN_MEMORY_BYTES, mode="w+", encoding="utf-8", newline="\n"
        )
        self.count = 0
        return written

    def close(self) -> None:
        self._lines = []
        self._spool.close()
        if self._copy is not None:
            self._end_copy(RuntimeError("import abandoned: rows not written"))


def _copy_text(value: Any) -> str:
    """A value in PostgreSQL's COPY text format (NUL characters, which PostgreSQL text cannot
    hold, are dropped)."""
    kind = type(value)
    if kind is str:
        return value.translate(_COPY_ESCAPES) if _NEEDS_ESCAPE.search(value) else value
    if value is None:
        return "\\N"
    if kind is bool:
        return "t" if value else "f"
    if kind is int:
        return str(value)
    if isinstance(value, Jsonb):
        value = json.dumps(value.obj, ensure_ascii=False)
    text = str(value)
    return text.translate(_COPY_ESCAPES) if _NEEDS_ESCAPE.search(text) else text


def stream(
    sql: str, params: Sequence[Any] = (), *, expected: int | None = None, size: int = FETCH_ROWS
) -> Iterator[tuple]:
    """The rows of a query, ``size`` at a time through a server-side cursor (PostgreSQL), so that
    memory stays flat whatever their number. When the caller ``expected`` at most ``size`` rows,
    one plain query (one round trip) reads them."""
    if expected is not None and expected <= size:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            yield from cursor.fetchall()
        return
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(size):
            yield from rows
            if len(rows) < size:
                return


# --- set-based writes ----------------------------------------------------------------------------

UPDATE_ROWS = 5000


COPY_MIN_ROWS = 2000


def insert_batch_size() -> int | None:
    """``bulk_create``'s batch size: one statement per call on PostgreSQL (client-side binding
    has no parameter limit), Django's own limit on SQLite."""
    return None if is_postgresql() else 2000


def insert_rows(
    model: type[Model], rows: Sequence[dict[str, Any]], *, with_ids: bool = False
) -> list[int]:
    """Insert ``rows`` (field attname → value, the others get their defaults and ``auto_now``
    timestamps as ``bulk_create`` gives them); with ``with_ids`` returns their primary keys in
    order.

    On PostgreSQL, from ``COPY_MIN_ROWS`` rows on, one ``COPY`` writes them, after one query that
    takes their ids from the table's sequence: ``bulk_create`` spends most of a large import's
    time building model instances and preparing and quoting parameters. Fewer rows, and SQLite,
    go through ``bulk_create`` (one statement on PostgreSQL)."""
    if not rows:
        return []
    if not is_postgresql() or len(rows) < COPY_MIN_ROWS:
        objects = [model(**row) for row in rows]
        model._default_manager.bulk_create(objects, batch_size=insert_batch_size())
        return [obj.pk for obj in objects]
    meta = model._meta
    now = timezone.now()
    given = set(rows[0])
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    constants: dict[str, Any] = {}
    for field in fields:
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            constants[field.attname] = now
        elif field.attname not in given:
            constants[field.attname] = field.get_db_prep_save(field.get_default(), connection)
    ids: list[int] = []
    if with_ids:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [meta.db_table, meta.pk.column, len(rows)],
            )
            ids = [new_id for (new_id,) in cursor.fetchall()]
    names = [f.attname for f in fields]
    columns = ", ".join(quote(f.column) for f in ([meta.pk] if with_ids else []) + fields)
    sql = f"COPY {quote(meta.db_table)} ({columns}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for index, row in enumerate(rows):
            values = [constants[name] if name in constants else _plain(row[name]) for name in names]
            copy.write_row([ids[index], *values] if with_ids else values)
    return ids


def insert_select(
    model: type[Model],
    expressions: dict[str, tuple[str, Sequence[Any]]],
    source: str,
    params: Sequence[Any] = (),
    *,
    suffix: str = "",
    returning: str = "",
) -> tuple[int, list[tuple[Any, ...]]]:
    """``INSERT INTO <model's table> (every column but the primary key) SELECT … <source>
    <suffix>``: the given SQL expressions (field attname → SQL and its parameters), and for every
    other field its default (``auto_now`` fields: now) as a parameter, as ``bulk_create`` would
    write it. Returns (rows inserted, the ``returning`` rows)."""
    meta = model._meta
    now = timezone.now()
    columns: list[str] = []
    select: list[str] = []
    values: list[Any] = []
    for field in meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(quote(field.column))
        if field.attname in expressions:
            expression, expression_params = expressions[field.attname]
            select.append(expression)
            values.extend(expression_params)
        elif getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            select.append("%s")
            values.append(now)
        else:
            select.append("%s")
            values.append(field.get_db_prep_save(field.get_default(), connection))
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(columns)}) "
        f"SELECT {', '.join(select)} {source} {suffix}"
    )
    if returning:
        sql += f" RETURNING {returning}"
    with connection.cursor() as cursor:
        cursor.execute(sql, [*values, *params])
        found = cursor.fetchall() if returning else []
        return cursor.rowcount, found


def _plain(value: Any) -> Any:
    """A value as psycopg writes it: a model instance by its primary key."""
    return value.pk if isinstance(value, Model) else value


def value_in(model: type[Model], field: str, values: Sequence[Any]) -> Q | RawSQL:
    """A filter for ``field IN values``: on PostgreSQL ``= ANY(%s)`` with one array parameter
    (an ``IN`` list of tens of thousands of placeholders costs more to build and quote than the
    query takes to run), elsewhere ``field__in``."""
    if not is_postgresql():
        return Q(**{f"{field}__in": values})
    column = f"{quote(model._meta.db_table)}.{quote(model._meta.get_field(field).column)}"
    sql = f"{column} = ANY(%s)"  # quoted names from the model, the values a parameter
    return RawSQL(sql, (list(values),), output_field=BooleanField())  # noqa: S611  # nosec B611 - quoted model names, values as one parameter


def lookup_chunk() -> int:
    """Values per ``IN (…)`` lookup: SQLite keeps under its variable limit."""
    return 100_000 if is_postgresql() else 5000


def update_rows(model: type[Model], objects: Sequence[Model], fields: Sequence[str]) -> int:
    """Write ``fields`` of ``objects`` (by primary key). PostgreSQL: ``UPDATE … FROM (VALUES …)``,
    one statement per ``UPDATE_ROWS`` rows (``bulk_update`` builds a ``CASE`` per row and field,
    which is slow on large sets); SQLite: ``bulk_update``. Returns the number of rows."""
    if not objects:
        return 0
    if not is_postgresql():
        model._default_manager.bulk_update(objects, fields, batch_size=500)
        return len(objects)
    meta = model._meta
    primary_key = meta.pk
    columns = [meta.get_field(name) for name in fields]
    every = [primary_key, *columns]
    row_sql = "(" + ", ".join(f"CAST(%s AS {f.cast_db_type(connection)})" for f in every) + ")"
    names = ", ".join(quote(f.column) for f in every)
    assignments = ", ".join(f"{quote(f.column)} = v.{quote(f.column)}" for f in columns)
    key = quote(primary_key.column)
    with connection.cursor() as cursor:
        for start in range(0, len(objects), UPDATE_ROWS):
            chunk = objects[start : start + UPDATE_ROWS]
            params: list[Any] = []
            for obj in chunk:
                params.append(primary_key.get_db_prep_value(obj.pk, connection))
                params.extend(
                    f.get_db_prep_save(getattr(obj, f.attname), connection) for f in columns
                )
            cursor.execute(
                f"UPDATE {quote(meta.db_table)} AS t SET {assignments} "  # noqa: S608  # nosec B608 - quoted model names, values as parameters
                f"FROM (VALUES {', '.join([row_sql] * len(chunk))}) AS v ({names}) "
                f"WHERE t.{key} = v.{key}",
                params,
            )
    return len(objects)


def stage_in_memory_rows() -> int:
    """Rows a streaming run holds in memory before it stages them in a table (small files need
    no temporary table); ``LOWBAO_IMPORT_STAGE_IN_MEMORY_ROWS``, default 5,000."""
    return int(getattr(settings, "LOWBAO_IMPORT_STAGE_IN_MEMORY_ROWS", STAGE_IN_MEMORY_ROWS))
