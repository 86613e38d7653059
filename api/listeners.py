"""The subscribers to domain events (api/events.py). A composition root imports this module before any
write, so every event published has its listeners: the audit trail (`RecordSaved`) and the compliance
watch (`GroupFactsChanged`); and the registries a lower package asks of a higher one: the publication guard's
text redactor (api/policy/redacting.py) and the rule catalog (api/policy/citing.py)."""

from __future__ import annotations

import api.audit.service
import api.compliance.cache
import api.compliance.rules
import api.compliance.watch
import api.consents.redaction

LISTENERS = (
    api.audit.service,
    api.compliance.watch,
    api.compliance.cache,
    api.compliance.rules,
    api.consents.redaction,
)
