"""Template helpers of the web UI: status badges, icons, numbers, times."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe

register = template.Library()

# Every status the UI shows, with its label. The same table goes to the
# page as JSON (live.js labels badges it updates with it).
STATUS_LABELS = {
    # jobs and steps
    "running": "Running",
    "paused": "Paused",
    "succeeded": "Succeeded",
    "failed": "Failed",
    "cancelled": "Cancelled",
    "blocked": "Blocked",
    "ready": "Queued",
    "enqueued": "Queued",
    "retrying": "Retrying",
    "waiting": "Waiting",
    # leads
    "new": "New",
    "visited": "Visited",
    "invited": "Invited",
    "connected": "Connected",
    "messaged": "Messaged",
    "replied": "Replied",
    "skipped": "Skipped",
    # sender accounts, campaigns
    "ok": "OK",
    "active": "Active",
    "cooling_down": "Cooling down",
    "needs_login": "Needs login",
    "disabled": "Disabled",
    "draft": "Draft",
    "archived": "Archived",
    "revoked": "Revoked",
}


@register.simple_tag
def status_labels() -> dict[str, str]:
    return STATUS_LABELS


@register.filter
def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, str(status).replace("_", " ").capitalize())


@register.simple_tag
def badge(status: str, extra: str = "") -> str:
    return format_html(
        '<span class="badge{}" data-status="{}">{}</span>', f" {extra}" if extra else "", status, status_label(status)
    )


@register.filter
def percent_of(part, whole) -> float:
    try:
        return round(100.0 * float(part) / float(whole), 1) if float(whole) else 0.0
    except (TypeError, ValueError):
        return 0.0


@register.filter
def money(value) -> str:
    """US dollars: cents from a dollar up; below, up to four decimals (LLM
    calls cost fractions of a cent): $12.30, $0.50, $0.0125."""
    value = Decimal(str(value or 0))
    if abs(value) >= 1 or value == value.quantize(Decimal("0.01")):
        return f"${value:,.2f}"
    text = f"{value:.4f}".rstrip("0")
    return f"${text}" if len(text.split(".")[1]) >= 2 else f"${value:.2f}"


@register.filter
def compact(value) -> str:
    """1234 → 1.2k, 2500000 → 2.5M (exact numbers go in titles)."""
    try:
        n = float(value)
    except (TypeError, ValueError):
        return str(value)
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= size:
            return f"{n / size:.1f}".rstrip("0").rstrip(".") + suffix
    return f"{n:,.0f}"


@register.filter
def thousands(value) -> str:
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return str(value)


@register.filter
def ago(value: datetime | None) -> str:
    """ "just now", "4 min ago", "3 h ago", "2 days ago", else the date."""
    if value is None:
        return ""
    seconds = (timezone.now() - value).total_seconds()
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    if seconds < 7 * 86400:
        days = int(seconds // 86400)
        return f"{days} day{'s' if days > 1 else ''} ago"
    return value.strftime("%-d %b %Y")


@register.filter
def in_zone(value: datetime | None, zone: str = "UTC") -> datetime | None:
    """A datetime in a named time zone (an account's, a campaign's)."""
    if value is None:
        return None
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return timezone.localtime(value, ZoneInfo(zone or "UTC"))
    except (ZoneInfoNotFoundError, ValueError):
        return timezone.localtime(value, ZoneInfo("UTC"))


@register.filter
def duration(job) -> str:
    """How long a job ran (or has been running)."""
    start = getattr(job, "started_at", None) or getattr(job, "created_at", None)
    if start is None:
        return ""
    end = getattr(job, "finished_at", None) or timezone.now()
    seconds = max(0, int((end - start).total_seconds()))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


# A small set of line icons (24x24, stroke): inline, so no request is made.
ICONS = {
    "dashboard": '<rect x="3" y="3" width="7" height="9" rx="1.5"/><rect x="14" y="3" width="7" height="5" rx="1.5"/>'
    '<rect x="14" y="12" width="7" height="9" rx="1.5"/><rect x="3" y="16" width="7" height="5" rx="1.5"/>',
    "campaigns": '<path d="M3 11l16-7v16L3 13z"/><path d="M7 13v5a2 2 0 0 0 4 0v-3.5"/>',
    "jobs": '<circle cx="6" cy="6" r="2.5"/><circle cx="6" cy="18" r="2.5"/><circle cx="18" cy="12" r="2.5"/>'
    '<path d="M8.5 6.5l7 4.5M8.5 17.5l7-4.5"/>',
    "accounts": '<circle cx="12" cy="8" r="4"/><path d="M4 21c0-4.4 3.6-7 8-7s8 2.6 8 7"/>',
    "usage": '<path d="M4 20V10M10 20V4M16 20v-7M22 20H2"/>',
    "tokens": '<circle cx="8" cy="15" r="4"/><path d="M11 12l9-9M16 7l3 3M14 9l2 2"/>',
    "logout": '<path d="M15 4h3a2 2 0 0 1 2 2v12a2 2 0 0 1-2 2h-3M10 17l5-5-5-5M15 12H3"/>',
    "menu": '<path d="M3 6h18M3 12h18M3 18h18"/>',
    "plus": '<path d="M12 5v14M5 12h14"/>',
    "pause": '<rect x="6" y="5" width="4" height="14" rx="1"/><rect x="14" y="5" width="4" height="14" rx="1"/>',
    "play": '<path d="M7 4.5v15l12-7.5z"/>',
    "stop": '<rect x="5" y="5" width="14" height="14" rx="2"/>',
    "retry": '<path d="M20 11a8 8 0 1 0-2.3 5.7M20 4v7h-7"/>',
    "upload": '<path d="M12 16V4M7 9l5-5 5 5M4 20h16"/>',
    "alert": '<path d="M12 3l10 18H2z"/><path d="M12 10v5M12 18v.5"/>',
    "check": '<path d="M5 12.5l4.5 4.5L19 7.5"/>',
    "copy": '<rect x="8" y="8" width="12" height="12" rx="2"/>'
    '<path d="M16 8V6a2 2 0 0 0-2-2H6a2 2 0 0 0-2 2v8a2 2 0 0 0 2 2h2"/>',
    "logo": '<path d="M4 18c3-8 7-12 16-14-2 9-6 13-14 16z"/><path d="M9 15l-3 3"/>',
}


@register.simple_tag
def icon(name: str, size: int = 18, label: str = "") -> str:
    aria = format_html('role="img" aria-label="{}"', label) if label else mark_safe('aria-hidden="true"')
    return format_html(
        '<svg class="icon" width="{}" height="{}" viewBox="0 0 24 24" fill="none" stroke="currentColor" '
        'stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round" focusable="false" {}>{}</svg>',
        size,
        size,
        aria,
        mark_safe(ICONS.get(name, "")),
    )


@register.simple_tag
def widget(field, **attrs) -> str:
    """A form field's widget, tied to its help text and errors for screen
    readers (aria-describedby) and marked invalid when it has errors."""
    described = []
    if field.help_text:
        described.append(f"{field.auto_id}_helptext")
    if field.errors:
        described.append(f"{field.auto_id}_error")
        attrs["aria-invalid"] = "true"
    if described:
        attrs["aria-describedby"] = " ".join(described)
    return field.as_widget(attrs=attrs)


@register.filter
def is_choice_group(field) -> bool:
    from django.forms import CheckboxSelectMultiple, RadioSelect

    return isinstance(field.field.widget, (RadioSelect, CheckboxSelectMultiple))
