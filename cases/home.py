"""The 工作台 card of the cases app: the open applications in the user's areas."""

from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone

from cases.selectors import application_queryset
from cases.services.applications import OPEN_STATUSES
from lowbao.areas.roles import Perm
from lowbao.areas.scoping import actor_has_perm
from lowbao.core.home import HomeCard, HomeLine


def open_applications_card(user: object) -> HomeCard | None:
    """办理中的申请 and how many are past their time limit (one query, scoped)."""
    if not actor_has_perm(user, Perm.CASE_VIEW):
        return None
    counts = (
        application_queryset(actor=user)
        .filter(status__in=OPEN_STATUSES)
        .order_by()
        .aggregate(open=Count("pk"), overdue=Count("pk", filter=Q(due_on__lt=timezone.localdate())))
    )
    return HomeCard(
        title="低保特困申请",
        url=reverse("cases:worklist"),
        link_label="我的待办",
        lines=(
            HomeLine("办理中", counts["open"]),
            HomeLine("已超期", counts["overdue"], alert=True),
        ),
    )
