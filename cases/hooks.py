"""Extension points other domain apps register in their ``AppConfig.ready`` (so that ``cases``
never imports them): checks before a county approval, and demo-data preparation."""

from collections.abc import Callable, Sequence
from datetime import date

# Each gate gets the application being approved and the decision date and returns the problems
# that block approval (Chinese sentences); an empty list lets it through. ``poverty`` registers
# the verification gate (逢救必核) here.
APPROVAL_GATES: list[Callable[[object, date], list[str]]] = []

# Called by the demo seeder before a county decision, to record what the gates require.
DEMO_BEFORE_DECISION: list[Callable[[object, date], None]] = []

# Called after an application is accepted (e.g. close-relative matching); may update it.
AFTER_ACCEPT: list[Callable[[object, object, date], None]] = []

# Called after a rejection (e.g. referral of a registered-poor household to the poverty office).
AFTER_REJECT: list[Callable[[object, object, date], None]] = []

# Called with each person who joins a household (registration, member added), so that data
# received before lowbao knew the person (disability records, verification reports) is linked.
AFTER_PERSON_JOINED: list[Callable[[object], object]] = []

# The bulk variant, for imports: called once per import with the ids of every person who joined
# a household (``AFTER_PERSON_JOINED`` would be one call, and queries, per person).
AFTER_PERSONS_JOINED: list[Callable[[Sequence[int]], object]] = []
