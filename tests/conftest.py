"""Root conftest: registers the fixture modules of each app (style B.9)."""

pytest_plugins = [
    "tests.fixtures.areas",
    "tests.fixtures.accounts",
    "tests.fixtures.audit",
    "tests.fixtures.people",
    "tests.fixtures.cases",
    "tests.fixtures.verification",
    "tests.fixtures.campaign",
    "tests.fixtures.review_items",
    "tests.fixtures.reconciliation",
    "tests.fixtures.dashboard",
]
