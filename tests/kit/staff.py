"""Staff records (api/staff)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import Session

from api import clock
from api.staff.models import EmploymentType, Staff
from tests.kit.records import add, unique

# The fewest fields a request to create a member of staff needs.
STAFF_BODY: dict[str, Any] = {
    "full_name": "Asha Patel",
    "email": "asha.patel@moremusic.org.uk",
    "employment_type": "sessional",
    "started_on": "2024-09-01",
}


def make_staff(session: Session, **overrides: Any) -> Staff:
    """An employee who started 400 days ago, signed the code of conduct and finished e-safety training."""
    values: dict[str, Any] = {
        "full_name": f"Staff {unique('')}",
        "email": f"{unique('staff-')}@moremusic.org.uk",
        "employment_type": EmploymentType.employee,
        "started_on": clock.today() - timedelta(days=400),
        "code_of_conduct_signed_on": clock.today() - timedelta(days=300),
        "esafety_training_completed_on": clock.today() - timedelta(days=100),
    }
    return add(session, Staff, values, overrides)
