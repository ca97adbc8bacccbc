"""Synthesize each app variant once per session, with cdk-nag's AwsSolutions pack attached."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Environment, Validations
from cdk_nag import AwsSolutionsChecks
from query_infra.config import DeploymentConfig
from query_infra.stack import QueryServiceStack

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

EXISTING = {
    "environment": "prod",
    "account": "123456789012",
    "region": "ap-northeast-1",
    "vpcId": "vpc-0123456789abcdef0",
    "privateSubnetIds": ["subnet-0aaa1111", "subnet-0bbb2222"],
    "privateRouteTableIds": ["rtb-0aaa1111", "rtb-0bbb2222"],
    "availabilityZones": ["ap-northeast-1a", "ap-northeast-1c"],
    "existingTableName": "query-results",
    "trafficTarget": "eks",
    "oldEksHandlerUrl": "http://eks-query-handler.internal.example:8080",
    "enableLambdaRollbackSource": True,
    "imageTag": "2026.11.26-1",
    "taskCpu": 1024,
    "taskMemoryMiB": 2048,
}


class Synth:
    """One synthesized app: its template (as JSON) and where it was written."""

    def __init__(self, outdir: Path, context: dict[str, Any]) -> None:
        app = App(outdir=str(outdir), context=context)
        config = DeploymentConfig.from_context(app)
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

    def one(self, kind: str) -> dict[str, Any]:
        (resource,) = self.resources(kind).values()
        return resource


@pytest.fixture(scope="session")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """A fresh environment: defaults only (new VPC, new table, ECS target)."""
    return Synth(tmp_path_factory.mktemp("fresh"), {})


@pytest.fixture(scope="session")
def existing(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """The production account: existing VPC and table, EKS URL in the new version, rollback on."""
    return Synth(tmp_path_factory.mktemp("existing"), EXISTING)
