"""The runbook rehearsed: ``docs/runbook.md``'s command blocks run as written against the
running account emulated in moto's server (docs/decisions/0015-runbook-rehearsal.md)."""
