"""Where the blocks run: a copy of the repository's root as the operator has it (``infra/``
with the CDK app, its ``cdk.json`` and the CLI of its lock), and the environment that points
every AWS call at the emulated account.

The blocks write (``infra/cdk.context.json``, ``cdk.out/``) into this copy, never into the
repository; the CDK app's sources and ``dist/`` stay the repository's (linked).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path

__all__ = ["INFRA_LINKS", "block_environment", "lay_out", "missing_tools"]

#: moto's dummy credentials: it accepts any, and nothing leaves 127.0.0.1.
_DUMMY_KEY = "testing"
#: What ``infra/`` holds for the operator, linked from the repository's.
INFRA_LINKS = (
    "cdk.json",
    "app.py",
    "package.json",
    "package-lock.json",
    "node_modules",
    "examples",
)


def lay_out(repo: Path, root: Path) -> Path:
    """``root`` laid out as the repository's root for the runbook's commands; returns it."""
    (root / "infra").mkdir(parents=True)
    for name in INFRA_LINKS:
        (root / "infra" / name).symlink_to(repo / "infra" / name)
    return root


def missing_tools(repo: Path, path: str) -> list[str]:
    """What the blocks need and ``path`` or the repository lacks, each with how to get it."""
    missing = [
        f"{tool} on PATH (the rehearse session's: uv.lock's Node.js, query-migrate, awscli)"
        for tool in ("bash", "npx", "query-migrate", "aws")
        if shutil.which(tool, path=path) is None
    ]
    if shutil.which("curl", path=path) is None:  # the runbook's check of the public API
        missing.append("curl on PATH (Debian's package curl)")
    if not (repo / "infra" / "node_modules" / "aws-cdk").is_dir():
        missing.append("infra/node_modules/aws-cdk (npm ci --prefix infra, as `nox -s infra`)")
    return missing


def block_environment(
    base: Mapping[str, str],
    *,
    endpoint_url: str,
    lambda_url: str,
    region: str,
    http_proxy: str | None = None,
    ca_file: Path | None = None,
    apigateway_url: str | None = None,
) -> dict[str, str]:
    """``base`` with every AWS client (boto3, the CDK CLI) pointed at the emulator (Lambda at
    its front), its dummy credentials, and the CLI kept offline (the lock's CLI or a failure,
    no telemetry); with ``apigateway_url``, API Gateway's calls go there
    (``rehearsal.stagefront``); with ``http_proxy``, HTTP and HTTPS to any host but 127.0.0.1
    go there (the account's hosts: ``rehearsal.proxy``), and TLS trusts ``ca_file`` (the
    proxy's CA: Python's and curl's)."""
    env = {
        key: value
        for key, value in base.items()
        if not key.startswith("AWS_") or key == "AWS_EC2_METADATA_DISABLED"
    }
    env |= {
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_ENDPOINT_URL_LAMBDA": lambda_url,
        "AWS_ACCESS_KEY_ID": _DUMMY_KEY,
        "AWS_SECRET_ACCESS_KEY": _DUMMY_KEY,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        "COLUMNS": "120",  # rich's tables, as in the runbook's examples
        "npm_config_offline": "true",
        "npm_config_update_notifier": "false",
        "CDK_DISABLE_CLI_TELEMETRY": "true",
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }
    if apigateway_url is not None:
        env["AWS_ENDPOINT_URL_API_GATEWAY"] = apigateway_url
    if http_proxy is not None:
        local = ",".join(
            dict.fromkeys(["127.0.0.1", "localhost", *env.get("no_proxy", "").split(",")])
        ).rstrip(",")
        env |= {"http_proxy": http_proxy, "HTTP_PROXY": http_proxy}
        env |= {"https_proxy": http_proxy, "HTTPS_PROXY": http_proxy}
        env |= {"no_proxy": local, "NO_PROXY": local}
    if ca_file is not None:  # Python's ssl reads SSL_CERT_FILE; Debian's curl, CURL_CA_BUNDLE
        env["SSL_CERT_FILE"] = env["CURL_CA_BUNDLE"] = str(ca_file)
    return env
