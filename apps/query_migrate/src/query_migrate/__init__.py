"""``query-migrate``: the cutover from EKS to ECS Fargate as commands.

An app (a console script), not a library: nothing imports it. Each subcommand is one step of
the runbook (``docs/runbook.md``): ``preflight``, ``smoke``, ``attach``/``detach``,
``shadow`` and ``status``; ``commands/`` parses input and shapes output, the step modules
beside it do the work (decision 7).
"""
