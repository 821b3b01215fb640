"""Writes and reads about webhook endpoints.

webhook_endpoint_create(tenant=..., url=..., events=[...]) -> (endpoint, secret)
webhook_endpoint_update(endpoint, **changes)
webhook_endpoint_delete(endpoint)
webhook_endpoint_target(tenant_id=..., endpoint_id=...)   the delivery agent's lookup
"""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings

from agents.base import AgentError
from agents.egress import DestinationRefused, current_policy
from agents.egress.policy import parse
from reachly.campaigns.errors import Invalid
from reachly.tenants.models import Tenant
from reachly.webhooks.models import WebhookEndpoint, WebhookEvent

SECRET_PREFIX = "whsec_"
MAX_ENDPOINTS_PER_TENANT = 20


def _check_url(url: str) -> str:
    """Refuse at registration what delivery would refuse, with the same code
    (agents/egress): not http(s), credentials, control characters, hosts
    that cannot exist, port 0, and addresses the egress policy refuses (a
    name is resolved now too; if it cannot be resolved now, delivery decides).
    Raises Invalid naming the `url` field; returns the URL as given."""
    try:
        destination = parse(url)
        current_policy().vet(destination)
    except DestinationRefused as exc:
        raise Invalid(exc.reason, field="url") from None
    except AgentError:
        pass  # DNS may answer later; the delivery vets the address again
    if settings.REACHLY_ENV == "prod" and destination.scheme != "https":
        raise Invalid("webhook URLs must use https", field="url")
    return url


def _check_events(events: list[str]) -> list[str]:
    allowed = set(WebhookEvent.values)
    if not events:
        raise Invalid(f"choose at least one event: {', '.join(WebhookEvent.values)}", field="events")
    unknown = [e for e in events if e not in allowed]
    if unknown:
        raise Invalid(f"unknown event {unknown[0]!r}; one of: {', '.join(WebhookEvent.values)}", field="events")
    return sorted(set(events))


def webhook_endpoint_create(
    *, tenant: Tenant, url: str, events: list[str], description: str = "", active: bool = True
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its signing secret (shown once, stored encrypted)."""
    if WebhookEndpoint.objects.filter(tenant=tenant).count() >= MAX_ENDPOINTS_PER_TENANT:
        raise Invalid(f"at most {MAX_ENDPOINTS_PER_TENANT} webhook endpoints per tenant", field="url")
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    endpoint = WebhookEndpoint.objects.create(
        tenant=tenant,
        url=_check_url(url),
        events=_check_events(events),
        description=description,
        active=active,
        secret={"secret": secret},
    )
    return endpoint, secret


def webhook_endpoint_update(endpoint: WebhookEndpoint, **changes: Any) -> WebhookEndpoint:
    fields = []
    if "url" in changes:
        endpoint.url = _check_url(changes["url"])
        fields.append("url")
    if "events" in changes:
        endpoint.events = _check_events(changes["events"])
        fields.append("events")
    for name in ("description", "active"):
        if name in changes:
            setattr(endpoint, name, changes[name])
            fields.append(name)
    if fields:
        endpoint.save(update_fields=[*fields, "updated_at"])
    return endpoint


def webhook_endpoint_delete(endpoint: WebhookEndpoint) -> None:
    """Deliveries already scheduled for it are skipped when they run."""
    endpoint.delete()


def webhook_endpoint_target(*, tenant_id: int, endpoint_id: int) -> dict[str, Any] | None:
    """URL, secret and state of one of the tenant's endpoints, as plain data."""
    endpoint = WebhookEndpoint.objects.filter(tenant_id=tenant_id, pk=endpoint_id).first()
    if endpoint is None:
        return None
    secret = endpoint.secret.get("secret") if isinstance(endpoint.secret, dict) else None
    return {"url": endpoint.url, "secret": secret or "", "active": endpoint.active and bool(secret)}
