"""The fixtures of query-migrate's tests, one module a job under ``fixtures/``: moto's server
and the CLI run against it (``aws``), the public API (``public_api``), the running account
(``account``), the account discover reads (``running``), a CodeDeploy canary (``canary``),
the local chain (``chain``), alias live in front of it (``live``)."""

from __future__ import annotations

# pytest's importlib import mode names a test module after its path under the rootdir.
pytest_plugins = [
    f"{__name__.removesuffix('.conftest')}.fixtures.{job}"
    for job in (
        "aws",
        "public_api",
        "account",
        "running",
        "canary",
        "chain",
        "lambda_limits",
        "cutover",
        "identity",
    )
]
