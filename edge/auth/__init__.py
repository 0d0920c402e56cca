"""Who may charge: the local authorization list, booking credentials, the cloud's answer and
the offline policy (docs/billing.md)."""
