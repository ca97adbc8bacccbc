"""The rehearsal's update of the deployed stack (docs/decisions/0015-runbook-rehearsal.md):
what a traffic deploy (``trafficTarget`` edited, ``cdk deploy``) changes, done through the
APIs in the emulated account, each change after what it names. The synthesized template is
compared with the one deployed; a change of any other kind fails naming it, before anything
is changed. What the internal hop's and the clean-up's deploys add (a task definition's
revision, the service, a group's egress, a VPC endpoint):
docs/decisions/0015-runbook-rehearsal.md#forward-again.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rehearsal.canary import CanaryTarget
from rehearsal.deploy import FUNCTION_UPDATES, Deployed, DeployError, _needs, _text
from rehearsal.resources import API, Clients, create_vpc_endpoint, update_egress
from rehearsal.tasks import register_task_definition, replace_tasks
from rehearsal.template import TemplateError, Values, evaluate

__all__ = [
    "UPDATES",
    "CanaryTarget",
    "Change",
    "Shift",
    "canary_target",
    "canary_targets",
    "update",
]

#: What an update of the deployed stack changes through the APIs, by type, and how.
UPDATES = {
    "AWS::Lambda::Function": "its environment and description (UpdateFunctionConfiguration)",
    "AWS::Lambda::Version": "a new version published (PublishVersion); the old one stays",
    "AWS::Lambda::Alias": (
        "moved by its deployment group's canary (UpdateAlias with weights, the alarms "
        "evaluated over real traffic: rehearsal.canary), or at once without one"
    ),
    "AWS::IAM::Policy": "its document put again (PutRolePolicy)",
    "AWS::CloudWatch::Alarm": "put again under its name (PutMetricAlarm)",
    "AWS::CloudWatch::Dashboard": "put again under its name (PutDashboard)",
    "AWS::ECS::TaskDefinition": (
        "a new revision registered from its properties (RegisterTaskDefinition), as "
        "CloudFormation replaces it; what names it is updated after it"
    ),
    "AWS::ECS::Service": (
        "moved to its task definition's new revision (UpdateService), its tasks replaced as "
        "ECS's rolling deployment does: new ones registered in its target groups, the old "
        "deregistered (rehearsal.tasks.replace_tasks)"
    ),
    "AWS::EC2::SecurityGroup": (
        "its egress rules made the template's (RevokeSecurityGroupEgress, "
        "AuthorizeSecurityGroupEgress)"
    ),
    "AWS::EC2::VPCEndpoint": "created when added (CreateVpcEndpoint), deleted when removed",
    "AWS::Lambda::ResourcePolicy": (
        "not changed, as it was not created (moto's Lambda has no PutResourcePolicy; the "
        "policy is checked on the synthesized template)"
    ),
}
#: What an update changes of a type that has more properties (any other change of it fails
#: naming them): a function's environment and description, a group's egress, a service's
#: task definition.
_ONLY = {
    "AWS::Lambda::Function": FUNCTION_UPDATES,
    "AWS::EC2::SecurityGroup": ("SecurityGroupEgress",),
    "AWS::ECS::Service": ("TaskDefinition",),
}
#: The types an update adds or removes (any other added or removed resource fails).
_ADDED_OR_REMOVED = frozenset({"AWS::Lambda::Version", "AWS::EC2::VPCEndpoint"})
#: The types CloudFormation replaces on any change: what names one is updated too.
_REPLACED = frozenset({"AWS::ECS::TaskDefinition"})
#: The name property of the types put again under the name they were created with.
_PUT_AGAIN = {
    "AWS::CloudWatch::Alarm": "AlarmName",
    "AWS::CloudWatch::Dashboard": "DashboardName",
}


@dataclass(frozen=True)
class Change:
    """One resource an update changed: what was done."""

    logical_id: str
    type: str
    done: str


def _changed(old: dict[str, Any], new: dict[str, Any]) -> tuple[list[str], list[str], list[str]]:
    """The logical ids added, removed, and changed (their type or properties)."""
    before, after = old["Resources"], new["Resources"]
    added = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    changed = sorted(
        lid
        for lid in set(before) & set(after)
        if {k: v for k, v in before[lid].items() if k != "Metadata"}
        != {k: v for k, v in after[lid].items() if k != "Metadata"}
    )
    return added, removed, changed


def _beyond(old: dict[str, Any], new: dict[str, Any], lid: str, only: tuple[str, ...]) -> list[str]:
    """What a resource's change holds beyond the properties ``only`` (what the update changes
    of its type): the keys of its resource that differ."""
    before, after = old["Resources"][lid], new["Resources"][lid]
    was, now = before.get("Properties", {}), after.get("Properties", {})
    keys = {*was, *now} - set(only)
    differ = [k for k in sorted(keys) if was.get(k) != now.get(k)]
    others = {*before, *after} - {"Properties", "Metadata"}
    return differ + [k for k in sorted(others) if before.get(k) != after.get(k)]


#: Runs an alias's canary: (the alias, its old version, the new one) -> (completed, what
#: happened); ``rehearsal.canary.Canary.run``.
Shift = Callable[[CanaryTarget, str, str], tuple[bool, list[str]]]


def update(
    cdk_out: Path, deployed: Deployed, *, aws: Clients, shift: Shift | None = None
) -> list[Change]:
    """The deployed stack updated to ``cdk_out``'s template, as far as :data:`UPDATES` goes: a
    change of any other kind (or a removed resource other than a replaced Lambda version)
    fails naming it, before anything is changed."""
    if deployed.values is None:
        raise DeployError("no deployed stack to update")
    new = json.loads((cdk_out / f"{deployed.stack}.template.json").read_text())
    added, removed, changed = _changed(deployed.template, new)
    resources = new["Resources"]
    kinds = {lid: resources[lid]["Type"] for lid in [*added, *changed]}
    kinds |= {lid: deployed.template["Resources"][lid]["Type"] for lid in removed}
    replaced = {lid for lid in changed if kinds[lid] in _REPLACED}
    naming = sorted(  # what names a replaced resource is updated after it
        lid
        for lid, resource in resources.items()
        if lid not in kinds and _needs(resource) & replaced
    )
    kinds |= {lid: resources[lid]["Type"] for lid in naming}
    unknown = [
        f"{lid} ({kind})"
        for lid, kind in sorted(kinds.items())
        if kind not in UPDATES
        or (lid in added and kind not in _ADDED_OR_REMOVED)
        or (lid in removed and kind not in _ADDED_OR_REMOVED)
    ]
    unknown += [
        f"{lid} ({kinds[lid]}: its {', '.join(others)})"
        for lid in changed
        if kinds[lid] in _ONLY
        and (others := _beyond(deployed.template, new, lid, _ONLY[kinds[lid]]))
    ]
    if unknown:
        raise DeployError(f"the rehearsal's update does not change {', '.join(unknown)}")
    values, done = deployed.values, []
    pending = set(added) | set(changed) | set(naming)
    while pending:  # each after what it names (a function's new version, then its alias...)
        ready = sorted(lid for lid in pending if not _needs(resources[lid]) & (pending - {lid}))
        if any(kinds[lid] != "AWS::Lambda::Alias" for lid in pending):  # the canary comes last:
            ready = [lid for lid in ready if kinds[lid] != "AWS::Lambda::Alias"]  # its alarms new
        if not ready:
            raise DeployError(f"the update's changes name each other: {sorted(pending)}")
        for lid in ready:
            kind = kinds[lid]
            try:
                properties = resources[lid].get("Properties", {})
                if kind in _ONLY and kind != "AWS::ECS::Service":  # only these change (checked)
                    properties = {k: properties[k] for k in _ONLY[kind] if k in properties}
                properties = evaluate(properties, values)
                what = _change(aws, new, lid, properties, values, shift, deployed)
                done.append(Change(lid, kind, what))
            except DeployError:
                raise
            except TemplateError as exc:
                raise DeployError(f"{lid} ({kind}): {exc}") from exc
            except Exception as exc:  # moto's answer: the update's refusal, named
                raise DeployError(f"{lid} ({kind}) through its API: {exc}") from exc
            pending.discard(lid)
    done += _remove(aws, removed, kinds, values)
    outputs = {
        key: _text(evaluate(output["Value"], values))
        for key, output in new.get("Outputs", {}).items()
    }
    if moved := sorted(k for k in outputs if outputs[k] != deployed.outputs.get(k)):
        raise DeployError(f"the update changes the stack's outputs {', '.join(moved)}")
    deployed.template = new
    return done


def _remove(
    aws: Clients, removed: list[str], kinds: dict[str, str], values: Values
) -> list[Change]:
    """The removed resources, last, as CloudFormation's clean-up: a VPC endpoint deleted (a
    replaced Lambda version stays, as a published version does)."""
    done = []
    for lid in removed:
        if kinds[lid] == "AWS::EC2::VPCEndpoint":
            endpoint = values.ref(lid)
            try:
                aws("ec2").delete_vpc_endpoints(VpcEndpointIds=[endpoint])
            except Exception as exc:  # moto's answer: the update's refusal, named
                raise DeployError(f"{lid} ({kinds[lid]}) through its API: {exc}") from exc
            done.append(Change(lid, kinds[lid], f"{endpoint} deleted"))
    return done


def canary_target(template: dict[str, Any], lid: str, values: Values) -> CanaryTarget | None:
    """The alias ``lid`` of ``template`` as CodeDeploy moves it; None without an update policy."""
    resource = template["Resources"][lid]
    policy = resource.get("UpdatePolicy", {}).get("CodeDeployLambdaAliasUpdate")
    if policy is None:
        return None
    p = evaluate(resource["Properties"], values)
    group = evaluate([policy["ApplicationName"], policy["DeploymentGroupName"]], values)
    function_ref = resource["Properties"]["FunctionName"]
    function_lid = function_ref.get("Ref") if isinstance(function_ref, dict) else None
    function = template["Resources"].get(function_lid or "", {}).get("Properties", {})
    log_group = f"/aws/lambda/{p['FunctionName']}"
    if configured := function.get("LoggingConfig", {}).get("LogGroup"):
        log_group = evaluate(configured, values)
    group_ref = policy["DeploymentGroupName"]
    group_lid = group_ref.get("Ref") if isinstance(group_ref, dict) else None
    props = template["Resources"].get(group_lid or "", {}).get("Properties", {})
    configured = props.get("AlarmConfiguration", {})
    names = [a["Name"] for a in configured.get("Alarms", [])] if configured.get("Enabled") else []
    alarms = evaluate(names, values)
    return CanaryTarget(p["FunctionName"], p["Name"], (group[0], group[1]), log_group,
                        props.get("DeploymentConfigName", ""), tuple(alarms))  # fmt: skip


def canary_targets(template: dict[str, Any], values: Values) -> list[CanaryTarget]:
    """Every alias of ``template`` CodeDeploy moves."""
    return [
        target
        for lid, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Lambda::Alias"
        and (target := canary_target(template, lid, values)) is not None
    ]


def _change(  # noqa: PLR0917 - one change's inputs
    aws: Clients, template: dict[str, Any], lid: str, p: dict[str, Any], values: Values,
    shift: Shift | None, deployed: Deployed,
) -> str:  # fmt: skip
    kind = template["Resources"][lid]["Type"]
    target = canary_target(template, lid, values) if kind == "AWS::Lambda::Alias" else None
    if target is not None and shift is not None:
        return _canary(aws, target, p["FunctionVersion"], shift)
    if kind == "AWS::ECS::Service":
        return _service(aws, lid, p, values, deployed.tasks)
    if kind == "AWS::EC2::SecurityGroup":  # from the egress deployed (the template's before)
        was = deployed.template["Resources"][lid].get("Properties", {})
        old = evaluate(was.get("SecurityGroupEgress", []), values)
        group, new = values.ref(lid), p.get("SecurityGroupEgress", [])
        update_egress(aws, group, old, new)
        return f"{group}: inline egress {len(old)} -> {len(new)} rules, the others kept"
    return _update(aws, kind, lid, p, values)


def _service(
    aws: Clients, lid: str, p: dict[str, Any], values: Values, tasks: dict[str, list[str]]
) -> str:
    """The service on its task definition's revision, its tasks replaced (moto runs none)."""
    arn = values.ref(lid)
    aws("ecs").update_service(cluster=p["Cluster"], service=arn, taskDefinition=p["TaskDefinition"])
    old = tasks.get(lid, [])
    tasks[lid] = replace_tasks(aws, arn, p, old)
    revision = str(p["TaskDefinition"]).rsplit("/", 1)[-1]
    return f"on {revision}: {len(tasks[lid])} tasks started, {len(old)} stopped"


def _canary(aws: Clients, target: CanaryTarget, new: str, shift: Shift) -> str:
    """The alias moved as its update policy says: through its deployment group's canary; a
    stopped canary fails the update (as ``cdk deploy`` fails)."""
    old = aws("lambda").get_alias(FunctionName=target.function, Name=target.alias)
    completed, lines = shift(target, old["FunctionVersion"], new)
    if not completed:
        raise DeployError("the canary stopped:\n" + "\n".join(lines))
    return "canary: " + "; ".join(lines)


def _update(aws: Clients, kind: str, lid: str, p: dict[str, Any], values: Values) -> str:
    if kind == "AWS::Lambda::Function":
        name = values.ref(lid)
        aws("lambda").update_function_configuration(
            FunctionName=name,
            Environment=p.get("Environment", {"Variables": {}}),
            Description=p.get("Description", ""),
        )
        variables = sorted(p.get("Environment", {}).get("Variables", {}))
        return f"{name}: environment {', '.join(variables)}"
    if kind == "AWS::Lambda::Version":
        created = API[kind][0](aws, "", lid, p)
        values.refs[lid] = created.ref
        for name, value in created.attributes.items():
            values.attributes[(lid, name)] = value
        return f"published {created.ref}"
    if kind == "AWS::Lambda::Alias":
        aws("lambda").update_alias(
            FunctionName=p["FunctionName"],
            Name=p["Name"],
            FunctionVersion=p["FunctionVersion"],
            RoutingConfig={"AdditionalVersionWeights": {}},
        )
        return f"{p['Name']} -> version {p['FunctionVersion']}, no weights"
    if kind == "AWS::ECS::TaskDefinition":
        arn = register_task_definition(aws, p)
        values.refs[lid] = arn
        return f"registered {arn.rsplit('/', 1)[-1]}"
    if kind == "AWS::EC2::VPCEndpoint":
        endpoint = create_vpc_endpoint(aws, p)
        values.refs[lid] = endpoint
        return f"{endpoint} ({p['ServiceName']}) created"
    if kind == "AWS::Lambda::ResourcePolicy":
        return "not changed (not created: moto's Lambda has no PutResourcePolicy)"
    if name_key := _PUT_AGAIN.get(kind):
        name = p.get(name_key) or values.ref(lid)
        API[kind][0](aws, "", lid, {**p, name_key: name})
        return f"{name} put again"
    for role in p.get("Roles", []):  # AWS::IAM::Policy
        aws("iam").put_role_policy(
            RoleName=role,
            PolicyName=p["PolicyName"],
            PolicyDocument=json.dumps(p["PolicyDocument"]),
        )
    return f"{p['PolicyName']} on {', '.join(p.get('Roles', []))}"
