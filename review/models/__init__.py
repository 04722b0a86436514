"""Models of the review app: the semi-annual ledger reconciliation (台账比对) and, later, the
annual review campaign (年度复核)."""

from review.models.reconciliation import (
    ItemEvent,
    ItemState,
    ReconciliationCategory,
    ReconciliationFinding,
    ReconciliationItem,
    ReconciliationRun,
    ReconciliationSweep,
    RunStatus,
    RunTrigger,
)

__all__ = [
    "ItemEvent",
    "ItemState",
    "ReconciliationCategory",
    "ReconciliationFinding",
    "ReconciliationItem",
    "ReconciliationRun",
    "ReconciliationSweep",
    "RunStatus",
    "RunTrigger",
]
