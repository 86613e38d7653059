"""The subscribers to domain events (api/events.py). A composition root imports this module before any
write, so every event published has its listeners: the audit trail (`RecordSaved`) and the compliance
watch (`GroupFactsChanged`)."""

from __future__ import annotations

import api.audit.service
import api.compliance.watch

LISTENERS = (api.audit.service, api.compliance.watch)
