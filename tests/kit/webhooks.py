"""Webhook endpoints (api/webhooks) as a test subscribes them."""

from __future__ import annotations

from sqlmodel import Session

from api.webhooks.models import WebhookEndpoint, WebhookEvent


def subscribe(session: Session, *events: WebhookEvent) -> WebhookEndpoint:
    """A CRM's endpoint (at an address nobody answers, with the secret "s") that receives `events`, saved."""
    endpoint = WebhookEndpoint(url="https://crm.example.org/hooks", events=list(events), secret="s")
    session.add(endpoint)
    session.commit()
    return endpoint
