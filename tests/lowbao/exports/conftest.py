"""Export files of each test go to the test's own directory; the roster of
``tests/cases/test_roster_export.py`` is the data most export tests use."""

import pytest

from tests.cases.test_roster_export import roster_world  # noqa: F401 - shared fixture


@pytest.fixture(autouse=True)
def _export_media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
