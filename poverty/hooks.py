"""Registers poverty's checks and reactions with the cases app (cases never imports poverty).

Each helper module exposes its functions; ``register()`` wires them once at start-up.
"""


def register() -> None:
    from cases import hooks as case_hooks
    from poverty import gates

    for target, function in gates.REGISTRATIONS:
        hook_list = getattr(case_hooks, target)
        if function not in hook_list:
            hook_list.append(function)
