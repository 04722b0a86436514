"""Functions poverty registers with ``cases.hooks``: each service module lists its own in
``HOOKS`` as (hook list name in cases.hooks, function)."""

from poverty.services import disability, officials, referrals, verification

REGISTRATIONS: list[tuple[str, object]] = [
    *verification.HOOKS,
    *disability.HOOKS,
    *officials.HOOKS,
    *referrals.HOOKS,
]
