"""Following the navbar as a user does: entries under a group open its drop-down first."""


def open_menu(page, label: str) -> None:
    """Click the navbar entry ``label`` (exact text), opening its group's drop-down if the
    entry sits in one."""
    link = page.locator("#main-menu").get_by_role(
        "link", name=label, exact=True, include_hidden=True
    )
    if not link.is_visible():
        group = link.locator("xpath=ancestor::li[contains(@class, 'dropdown')]")
        group.locator(".dropdown-toggle").click()
    link.click()
