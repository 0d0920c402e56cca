"""Billing data: charging sessions and their meter values, for `events/session` and
`events/meter-values` (docs/billing.md)."""
