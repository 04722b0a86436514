"""Navigation for the base layout: the user's assignments, the active one, and menu entries."""

from django.http import HttpRequest

from lowbao.areas.navigation import menu_groups, visible_entries
from lowbao.areas.scoping import actor_assignments, all_assignments


def navigation(request: HttpRequest) -> dict[str, object]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    assignments = all_assignments(user)
    active = actor_assignments(user)
    entries = visible_entries(user)
    return {
        "nav_assignments": assignments,
        "nav_active_assignment": active[0] if len(active) == 1 else None,
        "nav_menu": [{"label": entry.label, "url": url} for entry, url in entries],
        "nav_groups": menu_groups(entries, path=request.path),
    }
