"""What differs between deployments: read once from the CDK context, with defaults."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from constructs import Construct

__all__ = ["REPO_ROOT", "DeploymentConfig"]

#: The repository root: the assets (Lambda package, image context) are under dist/.
REPO_ROOT = Path(__file__).resolve().parents[3]


def _text(node: Any, key: str, default: str = "") -> str:
    value = node.try_get_context(key)
    return default if value is None else str(value)


def _int(node: Any, key: str, default: int) -> int:
    value = node.try_get_context(key)
    return default if value in (None, "") else int(value)


def _bool(node: Any, key: str) -> bool:
    value = node.try_get_context(key)
    return value is True or str(value).lower() in ("1", "true", "yes")


def _list(node: Any, key: str) -> list[str]:
    value = node.try_get_context(key)
    if not value:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return [str(part) for part in value]


@dataclass(frozen=True)
class DeploymentConfig:
    """The deployment's facts; see docs/runbook for each context key."""

    environment: str = "dev"
    #: Optional account and region; without them the stack is environment-agnostic.
    account: str = ""
    region: str = ""
    #: Existing VPC (the plan keeps everything in it) with its private subnets and AZs.
    vpc_id: str = ""
    private_subnet_ids: tuple[str, ...] = ()
    private_route_table_ids: tuple[str, ...] = ()
    availability_zones: tuple[str, ...] = ()
    #: CIDR of the VPC created when no vpc_id is given.
    vpc_cidr: str = "10.40.0.0/16"
    #: The existing production table, imported by name; empty: the stack creates one.
    existing_table_name: str = ""
    #: Where the Query Lambda's new version sends traffic: the ECS ALB, or the old EKS URL.
    traffic_target: Literal["ecs", "eks"] = "ecs"
    old_eks_handler_url: str = ""
    #: An image tag in the stack's ECR repository; empty: build from apps/ecs_service/Dockerfile.
    image_tag: str = ""
    task_cpu: int = 512
    task_memory_mib: int = 1024
    desired_count: int = 2
    max_count: int = 6
    #: Grant the task role lambda:InvokeFunction for RESULT_SOURCE=lambda (rollback).
    enable_lambda_rollback_source: bool = False
    lambda_package: Path = REPO_ROOT / "dist" / "lambda" / "package"
    image_context: Path = REPO_ROOT / "dist" / "image"

    @classmethod
    def from_context(cls, scope: Construct) -> DeploymentConfig:
        node = scope.node
        target = _text(node, "trafficTarget", "ecs")
        if target not in ("ecs", "eks"):
            raise ValueError(f"context trafficTarget must be 'ecs' or 'eks', not {target!r}")
        config = cls(
            environment=_text(node, "environment", "dev"),
            account=_text(node, "account"),
            region=_text(node, "region"),
            vpc_id=_text(node, "vpcId"),
            private_subnet_ids=tuple(_list(node, "privateSubnetIds")),
            private_route_table_ids=tuple(_list(node, "privateRouteTableIds")),
            availability_zones=tuple(_list(node, "availabilityZones")),
            vpc_cidr=_text(node, "vpcCidr", "10.40.0.0/16"),
            existing_table_name=_text(node, "existingTableName"),
            traffic_target=target,  # type: ignore[arg-type]
            old_eks_handler_url=_text(node, "oldEksHandlerUrl"),
            image_tag=_text(node, "imageTag"),
            task_cpu=_int(node, "taskCpu", 512),
            task_memory_mib=_int(node, "taskMemoryMiB", 1024),
            desired_count=_int(node, "desiredCount", 2),
            max_count=_int(node, "maxCount", 6),
            enable_lambda_rollback_source=_bool(node, "enableLambdaRollbackSource"),
        )
        config.check()
        return config

    def check(self) -> None:
        """Refuse contradictory context with one clear message."""
        if self.vpc_id and not (
            self.private_subnet_ids and self.availability_zones and self.private_route_table_ids
        ):
            raise ValueError(
                "with vpcId, give privateSubnetIds, privateRouteTableIds and availabilityZones too"
            )
        if self.traffic_target == "eks" and not self.old_eks_handler_url:
            raise ValueError("trafficTarget=eks needs oldEksHandlerUrl")
        if not (self.lambda_package / "lambdas").is_dir():
            raise ValueError(f"{self.lambda_package} is missing: run `nox -s build` first")
