"""E-safety compliance service."""
