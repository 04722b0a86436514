"""The roster's rules once more with every row staged in temporary tables (the path of files
past ``LOWBAO_IMPORT_STAGE_IN_MEMORY_ROWS`` rows): the set-based checks in SQL must find exactly
what the in-memory checks find, and the households table must hand every valid household to
apply. The tests are the roster and command tests themselves, collected here again with the
limit at 0, applied one household per round and, on PostgreSQL, every insert written by COPY."""

import pytest

from cases import roster_import
from lowbao.imports import staging
from tests.cases.test_roster_import import (  # noqa: F401 - collected here again
    test_every_problem_of_the_file_is_reported_in_row_order,
    test_id_number_stored_as_an_excel_number_is_id_numeric_cell,
    test_merged_and_head_only_household_cells_apply_to_the_whole_household,
    test_person_in_a_paid_household_elsewhere_is_duplicate_in_other_household,
    test_roster_problem_is_reported_at_its_row_and_column,
    test_stopped_household_cannot_be_revived_by_the_roster,
)
from tests.lowbao.imports.test_bad_input_corpus import (  # noqa: F401
    test_a_bad_cell_is_reported_at_its_row_and_column_and_nothing_is_written,
    test_a_gbk_csv_gets_its_errors_in_chinese,
    test_a_libreoffice_roster_with_its_bad_household_skipped_writes_the_others,
    test_a_roster_saved_by_libreoffice_gets_exactly_its_errors,
)
from tests.lowbao.imports.test_import_ledger_command import (  # noqa: F401
    test_dibao_dry_run_writes_nothing_and_reports_what_it_would_do,
    test_dibao_file_with_errors_exits_1_and_writes_nothing,
    test_dibao_roster_exported_again_reimports_unchanged_and_updates_what_changed,
    test_dibao_roster_imports_households_in_payment_with_exact_json,
    test_dibao_same_file_twice_is_one_batch_and_changes_nothing,
    test_dibao_skip_invalid_writes_only_whole_valid_households,
    test_staging_rows_hold_masked_id_numbers_and_accounts_only,
)
from tests.lowbao.imports.test_pipeline import (  # noqa: F401
    test_apply_in_another_process_reads_the_stored_file_again,
    test_staging_marks_every_row_of_an_invalid_household_invalid,
    test_the_report_rebuilt_from_staging_equals_the_report_in_process,
)


@pytest.fixture(autouse=True)
def _staged_in_tables(settings, monkeypatch):
    settings.LOWBAO_IMPORT_STAGE_IN_MEMORY_ROWS = 0
    monkeypatch.setattr(roster_import, "APPLY_HOUSEHOLDS", 1)
    monkeypatch.setattr(staging, "COPY_MIN_ROWS", 1)  # PostgreSQL: every insert by COPY
