"""An ECS service's tasks, which moto does not run: started and replaced as a deployment
leaves them, and a task definition's new revision
(docs/decisions/0015-runbook-rehearsal.md#forward-again)."""

from __future__ import annotations

from typing import Any

from rehearsal.resources import Clients

__all__ = ["register_task_definition", "replace_tasks", "start_tasks"]


def start_tasks(aws: Clients, service_arn: str, p: dict[str, Any]) -> list[str]:
    """An ECS service's tasks as its deployment leaves them, which moto does not run: moto
    counts ``MOTO_ECS_SERVICE_RUNNING`` of them (its server's setting) with the rollout
    complete; for each one counted, the network interface Fargate gives a task (in the
    service's subnets, with its security groups) is created and its address registered in the
    service's target groups, where moto answers ``healthy`` without probing it. moto's
    ``RunTask`` cannot start the CDK's task definition (it sums the containers' ``memory``,
    which a Fargate task sets on the task alone). Returns the interfaces' ids."""
    service = aws("ecs").describe_services(cluster=p["Cluster"], services=[service_arn])[
        "services"
    ][0]
    network = p.get("NetworkConfiguration", {}).get("AwsvpcConfiguration", {})
    subnets, groups = list(network.get("Subnets", [])), list(network.get("SecurityGroups", []))
    count = int(service.get("runningCount", 0))
    if not count or not subnets:
        return []
    interfaces = [
        aws("ec2").create_network_interface(
            SubnetId=subnets[index % len(subnets)],
            Groups=groups,
            Description=f"the task {index + 1} of {service['serviceName']} (rehearsal)",
        )["NetworkInterface"]
        for index in range(count)
    ]
    for balancer in p.get("LoadBalancers", []):
        aws("elbv2").register_targets(
            TargetGroupArn=balancer["TargetGroupArn"],
            Targets=[
                {"Id": eni["PrivateIpAddress"], "Port": int(balancer["ContainerPort"])}
                for eni in interfaces
            ],
        )
    return [eni["NetworkInterfaceId"] for eni in interfaces]


def replace_tasks(aws: Clients, service_arn: str, p: dict[str, Any], old: list[str]) -> list[str]:
    """An ECS service's tasks replaced as a rolling deployment does, which moto does not run:
    the new tasks started (``start_tasks``: their interfaces, registered in the service's
    target groups), then the old ones' addresses deregistered and their interfaces deleted.
    Returns the new interfaces' ids."""
    new = start_tasks(aws, service_arn, p)
    ec2 = aws("ec2")
    if old:
        found = ec2.describe_network_interfaces(NetworkInterfaceIds=old)["NetworkInterfaces"]
        addresses = [eni["PrivateIpAddress"] for eni in found]
        for balancer in p.get("LoadBalancers", []):
            aws("elbv2").deregister_targets(
                TargetGroupArn=balancer["TargetGroupArn"],
                Targets=[
                    {"Id": address, "Port": int(balancer["ContainerPort"])} for address in addresses
                ],
            )
        for interface in old:
            ec2.delete_network_interface(NetworkInterfaceId=interface)
    return new


#: Keys of a task definition whose values are maps of free names (not CloudFormation's keys).
_FREE_KEYS = frozenset({"Options", "DockerLabels"})


def _api_keys(node: Any) -> Any:
    """CloudFormation's ``PascalCase`` keys as the API's ``camelCase``, but a map of free
    names (a log driver's options) kept as written."""
    if isinstance(node, dict):
        return {
            key[:1].lower() + key[1:]: (value if key in _FREE_KEYS else _api_keys(value))
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_api_keys(value) for value in node]
    return node


def register_task_definition(aws: Clients, p: dict[str, Any]) -> str:
    """A task definition's new revision from its CloudFormation properties, as CloudFormation
    replaces one whose properties changed; returns its ARN."""
    fields = _api_keys({k: v for k, v in p.items() if k != "Tags"})
    if tags := p.get("Tags"):
        fields["tags"] = [{"key": t["Key"], "value": t["Value"]} for t in tags]
    done = aws("ecs").register_task_definition(**fields)
    return str(done["taskDefinition"]["taskDefinitionArn"])
