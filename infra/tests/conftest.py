"""Fixtures: bare stacks for the construct tests, and the whole app once per context.

The construct tests synthesize a plain ``Stack`` holding only the constructs under test, with a
tiny stand-in for the Lambda package and the image context (assets are only hashed and copied),
so they do not depend on ``nox -s build``. The whole-app fixtures use the real artifacts and
attach cdk-nag's AwsSolutions pack: ``app.synth()`` raises on an unacknowledged finding.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Environment, Stack, Validations
from cdk_nag import AwsSolutionsChecks
from query_infra.config import DeploymentConfig
from query_infra.context import read_context
from query_infra.stack import QueryServiceStack

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

ACCOUNT = "123456789012"

#: The whole-app contexts: a fresh account, the running account (the new version still on
#: EKS), and the running account keeping its public API after the switch (HTTPS at the ALB).
#: nox -s security scans the templates of the same contexts.
CONTEXTS: dict[str, dict[str, Any]] = json.loads(
    (Path(__file__).with_name("contexts.json")).read_text()
)
EXISTING = CONTEXTS["existing"]


@pytest.fixture(scope="session")
def assets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A stand-in Lambda package and image context: enough for CDK to stage them."""
    root = tmp_path_factory.mktemp("assets")
    (root / "lambda" / "lambdas").mkdir(parents=True)
    (root / "lambda" / "lambdas" / "__init__.py").write_text("")
    (root / "image").mkdir()
    (root / "image" / "Dockerfile").write_text("FROM scratch\n")
    return {"lambda_package": root / "lambda", "image_context": root / "image"}


@pytest.fixture(scope="session")
def make_config(assets: dict[str, Path]) -> Any:
    """``make_config(**fields)``: a DeploymentConfig over the stand-in assets."""

    def make(**fields: Any) -> DeploymentConfig:
        return dataclasses.replace(DeploymentConfig(), **assets, **fields)

    return make


def _bare_stack(*, region: str | None = None) -> Stack:
    env = Environment(account=ACCOUNT, region=region) if region else None
    return Stack(App(), "Test", env=env)


@pytest.fixture(scope="session")
def bare_stack() -> Any:
    """``bare_stack(region=None)``: an empty stack to put constructs under test in."""
    return _bare_stack


@pytest.fixture(scope="session")
def context() -> dict[str, Any]:
    """The running account's context (a copy each time it is asked for)."""
    return dict(EXISTING)


class Synth:
    """The whole app synthesized with cdk-nag attached: its stack and template JSON.

    The stand-in assets keep it fast: the real ones are tested in test_artifacts.py.
    """

    def __init__(self, outdir: Path, context: dict[str, Any], assets: dict[str, Path]) -> None:
        app = App(outdir=str(outdir), context=context)
        config = read_context(app, **assets)
        self.stack = QueryServiceStack(
            app,
            f"QueryService-{config.environment}",
            config=config,
            env=Environment(account=config.account or None, region=config.region or None),
        )
        Validations.of(app).add_plugins(AwsSolutionsChecks(app))
        app.synth()  # raises when a finding is not acknowledged
        self.template_path = outdir / f"{self.stack.stack_name}.template.json"
        self.template: dict[str, Any] = json.loads(self.template_path.read_text())

    def resources(self, kind: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.template["Resources"].items() if v["Type"] == kind}


@pytest.fixture(scope="session")
def fresh(tmp_path_factory: pytest.TempPathFactory, assets: dict[str, Path]) -> Synth:
    """A fresh environment: defaults only (new VPC, new table, ECS target)."""
    return Synth(tmp_path_factory.mktemp("fresh"), {}, assets)


@pytest.fixture(scope="session")
def existing(tmp_path_factory: pytest.TempPathFactory, assets: dict[str, Path]) -> Synth:
    """The running account: existing VPC and table, EKS URL in the new version, rollback on."""
    return Synth(tmp_path_factory.mktemp("existing"), EXISTING, assets)


@pytest.fixture(scope="session")
def existing_api(tmp_path_factory: pytest.TempPathFactory, assets: dict[str, Path]) -> Synth:
    """The running account with its existing public API kept (existingPublicApiId)."""
    return Synth(tmp_path_factory.mktemp("existing-api"), CONTEXTS["existing_api"], assets)


@pytest.fixture(scope="session")
def existing_api_open(tmp_path_factory: pytest.TempPathFactory, assets: dict[str, Path]) -> Synth:
    """The existing public API kept with ``ownerCheck=false``: any caller reads any user."""
    context = {k: v for k, v in CONTEXTS["existing_api"].items() if k != "ownerClaim"}
    context["ownerCheck"] = False
    return Synth(tmp_path_factory.mktemp("existing-api-open"), context, assets)


def _api_parts(stack: Stack, config: DeploymentConfig) -> dict[str, Any]:
    """Network, Data, the API Gateway account, the task role and InternalApi on ``stack``."""
    from aws_cdk import aws_iam as iam
    from query_infra.common import ApiGatewayAccount
    from query_infra.data import Data
    from query_infra.internal_api import InternalApi
    from query_infra.network import Network

    network = Network(stack, "Network", config=config)
    data = Data(stack, "Data", config=config)
    account = ApiGatewayAccount(stack, "ApiGatewayAccount")
    task_role = iam.Role(
        stack, "TaskRole", assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com")
    )
    internal_api = InternalApi(
        stack,
        "InternalApi",
        config=config,
        network=network,
        table=data.table,
        token_keys=data.token_keys,
        caller=task_role,
        account=account,
    )
    return {
        "network": network,
        "data": data,
        "task_role": task_role,
        "account": account,
        "internal_api": internal_api,
    }


def _service_parts(stack: Stack, config: DeploymentConfig) -> dict[str, Any]:
    """What Edge needs: ``_api_parts`` and the Service."""
    from query_infra.service import Service

    parts = _api_parts(stack, config)
    parts["service"] = Service(
        stack,
        "Service",
        config=config,
        network=parts["network"],
        internal_api=parts["internal_api"],
        task_role=parts["task_role"],
        caller_proof_keys=parts["data"].caller_proof_keys,
    )
    return parts


@pytest.fixture(scope="session")
def api_parts() -> Any:
    """``api_parts(stack, config)``: Network, Data, account, task role, InternalApi."""
    return _api_parts


@pytest.fixture(scope="session")
def service_parts() -> Any:
    """``service_parts(stack, config)``: Network, Data, task role, InternalApi, Service."""
    return _service_parts
