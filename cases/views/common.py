"""Small helpers shared by the cases views (no business rules here)."""

from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest
from django.urls import reverse

from lowbao.areas.decorators import require_perm
from lowbao.areas.models import AreaLevel
from lowbao.areas.selectors import area_list
from lowbao.core.errors import DomainError

_URL_SENTINEL = 987654321


def id_url(name: str, kwarg: str) -> Callable[[int], str]:
    """A builder of the URL ``name`` for an integer id, reversed once (list pages link every
    row; ``reverse`` per row was a tenth of a list page)."""
    before, _, after = reverse(name, kwargs={kwarg: _URL_SENTINEL}).partition(str(_URL_SENTINEL))
    return lambda pk: f"{before}{int(pk)}{after}"


def head_and_area_cells(household: object, head: object | None) -> tuple[str, str, str, str]:
    """The cells every household list shows the same way: the head's name ("—" when the
    household has none), the head's masked ID number, the township and the village."""
    area = household.area
    return (
        (head.person.name if head else "") or "—",
        head.person.id_number_masked if head else "",
        area.parent.name if area.parent_id else "",
        area.name,
    )


def village_choices(actor: object) -> list[tuple[str, str]]:
    villages = area_list(actor=actor, level=AreaLevel.VILLAGE).select_related("parent")
    return [(v.code, f"{v.parent.name if v.parent else ''} · {v.name}") for v in villages]


def show_domain_error(request: HttpRequest, form: object, error: DomainError) -> None:
    """Show a service refusal: its message on top, and field errors where it named fields."""
    fields = getattr(form, "fields", {}) if form is not None else {}
    for name, problems in error.fields.items():
        if name in fields:
            for problem in problems if isinstance(problems, list) else [problems]:
                form.add_error(name, str(problem))
    messages.error(request, error.message)


__all__ = ["head_and_area_cells", "id_url", "require_perm", "show_domain_error", "village_choices"]
