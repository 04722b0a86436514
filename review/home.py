"""The 工作台 card of the review app: the reconciliation items still to be resolved."""

from django.urls import reverse

from lowbao.areas.roles import Perm
from lowbao.areas.scoping import actor_has_perm
from lowbao.core.home import HomeCard, HomeLine
from lowbao.core.paging import capped_count
from review.models import ItemState
from review.selectors import item_queryset


def open_items_card(user: object) -> HomeCard | None:
    """台账比对 items in the user's areas still open (a capped count: one query, scoped)."""
    if not actor_has_perm(user, Perm.RECONCILE_VIEW):
        return None
    count, capped = capped_count(item_queryset(actor=user).filter(state=ItemState.OPEN))
    return HomeCard(
        title="台账比对问题",
        url=reverse("review:reconciliation_worklist"),
        link_label="问题清单",
        lines=(HomeLine("待处理", count, capped=capped),),
    )
