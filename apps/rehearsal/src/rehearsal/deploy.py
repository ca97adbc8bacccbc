"""The rehearsal's deploy: the ``cdk.out`` of the real synth created in the emulated account
(moto's server, over HTTP), in two parts (docs/decisions/0015-runbook-rehearsal.md#the-deploy):

* what the CDK CLI would do first: the bootstrap's version parameter written, the file assets
  of ``cdk.out``'s asset manifest uploaded to the bootstrap bucket;
* the types moto's CloudFormation models (:data:`CLOUDFORMATION`) through ``CreateStack`` (then
  ``UpdateStack``) of one stack named as the CDK's, the template holding just those, each
  reference to the other part replaced by the value created there;
* the other types through their own APIs (:data:`rehearsal.resources.API`), from their
  properties, or not at all (:data:`rehearsal.resources.NOT_CREATED`), each with its reason.

The parts refer to each other both ways (a policy names the secret, the secret's reader is a
function; an alias names a version, a permission names the alias): the deploy goes in waves,
each creating what the created resources allow, until all are. The stack's outputs are last:
the template's own, every value resolved, so that ``query-migrate --stack`` reads them.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from rehearsal.resources import API, NOT_CREATED, Clients, inline_egress, start_tasks
from rehearsal.template import TemplateError, Values, dependencies, evaluate, rewrite

__all__ = [
    "AFTER",
    "CLOUDFORMATION",
    "UPDATES",
    "Change",
    "DeployError",
    "Deployed",
    "Placed",
    "deploy",
    "parts",
    "update",
]

#: The types created through moto's CloudFormation (it has a model for each, checked by a test).
CLOUDFORMATION = frozenset(
    {
        "AWS::ApiGateway::Deployment",
        "AWS::ApiGateway::Method",
        "AWS::ApiGateway::Resource",
        "AWS::ApiGateway::RestApi",
        "AWS::EC2::SecurityGroup",
        "AWS::EC2::SecurityGroupIngress",
        "AWS::EC2::VPCEndpoint",
        "AWS::ECR::Repository",
        "AWS::ECS::Cluster",
        "AWS::ECS::Service",
        "AWS::ECS::TaskDefinition",
        "AWS::ElasticLoadBalancingV2::Listener",
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        "AWS::ElasticLoadBalancingV2::TargetGroup",
        "AWS::IAM::Policy",
        "AWS::IAM::Role",
        "AWS::Lambda::Function",
        "AWS::Lambda::Permission",
        "AWS::Logs::LogGroup",
        "AWS::S3::Bucket",
        "AWS::StepFunctions::StateMachine",
    }
)
#: What moto's model of a type leaves undone, done through the service's API after the wave.
AFTER = {
    "AWS::EC2::SecurityGroup": (
        "its inline egress rules through EC2's API (moto's model drops them, leaving all "
        "outbound open)"
    ),
    "AWS::ECS::Service": (
        "moto runs no task (its RunTask refuses the CDK's Fargate task definition): it counts "
        "MOTO_ECS_SERVICE_RUNNING tasks; each gets the network interface Fargate would give it, "
        "its address registered in the target group, which moto answers healthy unprobed"
    ),
}
#: Names moto would give (from the stack and logical id) that its own services refuse: the
#: property set instead, and the rule it must follow.
_NAMES: dict[str, tuple[str, Callable[[str], str]]] = {
    "AWS::ECR::Repository": ("RepositoryName", lambda name: name.lower()[:256]),
    "AWS::StepFunctions::StateMachine": ("StateMachineName", lambda name: name[:80]),
}
#: moto's dummy credentials: it accepts any, and nothing leaves 127.0.0.1.
_DUMMY_KEY = "testing"
#: Attributes moto's models do not answer (one such Fn::GetAtt among the stack's outputs and
#: the stack answers none): derived from the resource's Ref (its ARN) instead.
_DERIVED: dict[tuple[str, str], Callable[[str], str]] = {
    ("AWS::ElasticLoadBalancingV2::TargetGroup", "TargetGroupFullName"): lambda arn: arn.split(
        ":", 5
    )[5],
}
PART_CLOUDFORMATION = "CloudFormation"
PART_API = "its API"
PART_NONE = "not created"


class DeployError(Exception):
    """The deploy cannot go on: the message names the resource and what refused it."""


@dataclass(frozen=True)
class Placed:
    """One resource of the template: the part that creates it (or none) and why."""

    logical_id: str
    type: str
    part: str
    reason: str


@dataclass
class Deployed:
    stack: str
    resources: list[Placed]
    outputs: dict[str, str] = field(default_factory=dict)
    waves: int = 0
    #: Each ECS service's tasks (their network interfaces) as the deploy simulated them.
    tasks: dict[str, list[str]] = field(default_factory=dict)
    #: The template deployed and what its resources answer: what an update starts from.
    template: dict[str, Any] = field(default_factory=dict, repr=False)
    values: Values | None = field(default=None, repr=False)


def parts(template: dict[str, Any]) -> list[Placed]:
    """Each resource's part; a type neither part knows fails naming it (and its resources)."""
    placed: list[Placed] = []
    unknown: dict[str, list[str]] = {}
    for logical_id, resource in template["Resources"].items():
        kind = resource["Type"]
        if kind in CLOUDFORMATION:
            why = "moto models it" + (f"; {AFTER[kind]}" if kind in AFTER else "")
            placed.append(Placed(logical_id, kind, PART_CLOUDFORMATION, why))
        elif kind in API:
            placed.append(Placed(logical_id, kind, PART_API, API[kind][1]))
        elif kind in NOT_CREATED:
            placed.append(Placed(logical_id, kind, PART_NONE, NOT_CREATED[kind]))
        else:
            unknown.setdefault(kind, []).append(logical_id)
    if unknown:
        named = "; ".join(f"{kind} ({', '.join(ids)})" for kind, ids in sorted(unknown.items()))
        raise DeployError(f"no part of the deploy knows the type {named}")
    return placed


def _needs(resource: dict[str, Any]) -> set[str]:
    after = resource.get("DependsOn", [])
    return dependencies(resource.get("Properties", {})) | set(
        [after] if isinstance(after, str) else after
    )


def _bootstrap(aws: Clients, cdk_out: Path, stack: str, template: dict[str, Any]) -> None:
    """What ``cdk bootstrap`` and ``cdk deploy``'s asset publishing leave in the account."""
    if parameter := template.get("Parameters", {}).get("BootstrapVersion"):
        aws("ssm").put_parameter(
            Name=parameter["Default"], Value="30", Type="String", Overwrite=True
        )
    manifest = json.loads((cdk_out / f"{stack}.assets.json").read_text())
    s3, buckets = aws("s3"), set()
    for asset in manifest.get("files", {}).values():
        source = cdk_out / asset["source"]["path"]
        if source.is_dir():
            body = io.BytesIO()
            with zipfile.ZipFile(body, "w", zipfile.ZIP_DEFLATED) as archive:
                for path in sorted(source.rglob("*")):
                    if path.is_file():
                        archive.write(path, path.relative_to(source).as_posix())
            data = body.getvalue()
        else:
            data = source.read_bytes()
        for destination in asset["destinations"].values():
            if (bucket := destination["bucketName"]) not in buckets:
                s3.create_bucket(Bucket=bucket)
                buckets.add(bucket)
            s3.put_object(Bucket=bucket, Key=destination["objectKey"], Body=data)


def _output_key(logical_id: str, attribute: str = "") -> str:
    return "".join(c for c in f"Z{logical_id}{attribute}" if c.isalnum())[:255]


class _Deploy:
    def __init__(self, aws: Clients, stack: str, template: dict[str, Any], values: Values) -> None:
        self.aws, self.stack, self.template, self.values = aws, stack, template, values
        self.resources: dict[str, dict[str, Any]] = template["Resources"]
        self.placed = {p.logical_id: p for p in parts(template)}
        self.sent: dict[str, dict[str, Any]] = {}  # the CloudFormation part, as sent
        self.waves = 0
        self.tasks: dict[str, list[str]] = {}  # each ECS service's tasks' interfaces
        # What the other parts read from the CloudFormation part: each Ref, and each
        # Fn::GetAtt named outside it.
        self.read: set[tuple[str, str]] = set()
        for node in [*self._outside_nodes(), template.get("Outputs", {})]:
            self.read |= self._attributes(node)

    def _outside_nodes(self) -> list[Any]:
        nodes = [
            r.get("Properties", {})
            for lid, r in self.resources.items()
            if self.placed[lid].part != PART_CLOUDFORMATION
        ]
        # What the deploy does after CloudFormation, through the APIs: it reads these too.
        for resource in self.resources.values():
            properties = resource.get("Properties", {})
            if resource["Type"] == "AWS::EC2::SecurityGroup":
                nodes.append(properties.get("SecurityGroupEgress", []))
            # The service's tasks; what an update may put again through the APIs (``update``).
            elif resource["Type"] in ("AWS::ECS::Service", "AWS::IAM::Policy"):
                nodes.append(properties)
            elif resource["Type"] == "AWS::Lambda::Function":
                nodes.append([properties.get(key) for key in _FUNCTION_UPDATES])
        return nodes

    def _attributes(self, node: Any) -> set[tuple[str, str]]:
        found: set[tuple[str, str]] = set()
        if isinstance(node, dict):
            if isinstance(att := node.get("Fn::GetAtt"), list):
                found.add((att[0], att[1]))
            for value in node.values():
                found |= self._attributes(value)
        elif isinstance(node, list):
            for value in node:
                found |= self._attributes(value)
        return found

    def _in_cloudformation(self, logical_id: str) -> bool:
        placed = self.placed.get(logical_id)
        return placed is not None and placed.part == PART_CLOUDFORMATION

    def _as_sent(self, logical_id: str) -> dict[str, Any]:
        resource: dict[str, Any] = json.loads(json.dumps(self.resources[logical_id]))

        def outside(name: str) -> bool:
            return name in self.resources and not self._in_cloudformation(name)

        resource["Properties"] = rewrite(resource.get("Properties", {}), outside, self.values)
        after = resource.pop("DependsOn", [])
        after = [a for a in ([after] if isinstance(after, str) else after) if not outside(a)]
        if after:
            resource["DependsOn"] = after
        resource.pop("UpdatePolicy", None)  # CodeDeploy's alias update: the alias is not here
        if naming := _NAMES.get(resource["Type"]):
            key, rule = naming
            resource["Properties"].setdefault(key, rule(f"{self.stack}-{logical_id}"))
        return resource

    def _send(self, outputs: dict[str, Any], new: list[str] | None = None) -> dict[str, str]:
        body: dict[str, Any] = {"Resources": self.sent, "Outputs": outputs}
        if "Parameters" in self.template:
            body["Parameters"] = self.template["Parameters"]
        cloudformation = self.aws("cloudformation")
        try:
            if self.waves == 1:
                cloudformation.create_stack(StackName=self.stack, TemplateBody=json.dumps(body))
            else:
                cloudformation.update_stack(StackName=self.stack, TemplateBody=json.dumps(body))
        except Exception as exc:  # moto's answer, whatever the service: the deploy's refusal
            raise DeployError(
                f"moto's CloudFormation refused wave {self.waves} "
                f"(adding {', '.join(new or ['the outputs'])}): {str(exc)[:300]}"
            ) from exc
        stack = cloudformation.describe_stacks(StackName=self.stack)["Stacks"][0]
        if not stack["StackStatus"].endswith("_COMPLETE"):
            events = cloudformation.describe_stack_events(StackName=self.stack)["StackEvents"]
            failed = [
                f"{e['LogicalResourceId']}: {e.get('ResourceStatusReason', '')}"
                for e in events
                if e.get("ResourceStatus", "").endswith("FAILED")
            ]
            raise DeployError(
                f"wave {self.waves}: the stack is {stack['StackStatus']} "
                f"({stack.get('StackStatusReason', '')}) {'; '.join(failed)[:600]}"
            )
        return {str(o["OutputKey"]): str(o["OutputValue"]) for o in stack.get("Outputs", [])}

    def cloudformation_wave(self, ready: list[str]) -> None:
        self.waves += 1
        for logical_id in ready:
            self.sent[logical_id] = self._as_sent(logical_id)
        outputs: dict[str, Any] = {}
        for logical_id in self.sent:
            outputs[_output_key(logical_id)] = {"Value": {"Ref": logical_id}}
        for logical_id, attribute in self.read:
            if logical_id in self.sent and not self._derived(logical_id, attribute):
                value = {"Fn::GetAtt": [logical_id, attribute]}
                outputs[_output_key(logical_id, attribute)] = {"Value": value}
        answered = self._send(outputs, ready)
        if missing := sorted(set(outputs) - set(answered)):
            raise DeployError(
                f"wave {self.waves}: the stack answers {len(answered)} of its {len(outputs)} "
                f"outputs (missing {', '.join(missing[:3])}…)"
            )
        for logical_id in self.sent:
            self.values.refs[logical_id] = answered[_output_key(logical_id)]
        for logical_id, attribute in self.read:
            if logical_id in self.sent:
                if derive := self._derived(logical_id, attribute):
                    answer = derive(self.values.refs[logical_id])
                else:
                    answer = answered[_output_key(logical_id, attribute)]
                self.values.attributes[(logical_id, attribute)] = answer
        for logical_id in ready:
            self._after_cloudformation(logical_id)

    def _after_cloudformation(self, logical_id: str) -> None:
        """What moto's model of a type leaves undone, done through the service's API."""
        resource = self.resources[logical_id]
        try:
            if resource["Type"] == "AWS::EC2::SecurityGroup":
                egress = evaluate(resource.get("Properties", {}).get("SecurityGroupEgress", []),
                                  self.values)  # fmt: skip
                inline_egress(self.aws, self.values.refs[logical_id], egress)
            elif resource["Type"] == "AWS::ECS::Service":
                properties = evaluate(resource.get("Properties", {}), self.values)
                self.tasks[logical_id] = start_tasks(
                    self.aws, self.values.refs[logical_id], properties
                )
        except TemplateError as exc:
            raise DeployError(f"{logical_id} ({resource['Type']}): {exc}") from exc
        except Exception as exc:  # moto's answer: the deploy's refusal, named
            raise DeployError(f"{logical_id} ({resource['Type']}) through its API: {exc}") from exc

    def _derived(self, logical_id: str, attribute: str) -> Callable[[str], str] | None:
        return _DERIVED.get((self.resources[logical_id]["Type"], attribute))

    def outside(self, logical_id: str) -> None:
        resource, placed = self.resources[logical_id], self.placed[logical_id]
        try:
            properties = evaluate(resource.get("Properties", {}), self.values)
            if placed.part == PART_API:
                created = API[placed.type][0](self.aws, self.stack, logical_id, properties)
                ref, attributes = created.ref, created.attributes
            else:  # not created: it answers with its own properties
                ref, attributes = f"{self.stack}-{logical_id}", properties
        except TemplateError as exc:
            raise DeployError(f"{logical_id} ({placed.type}): {exc}") from exc
        except Exception as exc:  # moto's answer: the deploy's refusal, named
            raise DeployError(f"{logical_id} ({placed.type}) through its API: {exc}") from exc
        self.values.refs[logical_id] = ref
        for name, value in attributes.items():
            self.values.attributes[(logical_id, name)] = value

    def run(self) -> dict[str, str]:
        left = set(self.resources)
        while left:
            done = set(self.resources) - left
            progress = True
            while progress:  # the other part, one resource at a time, as far as it goes
                progress = False
                for logical_id in sorted(left):
                    known = done | set(self.values.pseudo)
                    if not self._in_cloudformation(logical_id) and self._needs_in(
                        logical_id, known
                    ):
                        self.outside(logical_id)
                        left.discard(logical_id)
                        done.add(logical_id)
                        progress = True
            ready = {lid for lid in left if self._in_cloudformation(lid)}
            shrinking = True
            while shrinking:  # what CloudFormation can create now, among itself
                shrinking = False
                for logical_id in sorted(ready):
                    if not self._needs_in(logical_id, done | ready | set(self.values.pseudo)):
                        ready.discard(logical_id)
                        shrinking = True
            if not ready and left:
                waiting = {lid: sorted(_needs(self.resources[lid]) - done) for lid in left}
                raise DeployError(f"nothing more can be created: waiting {waiting}")
            if ready:
                self.cloudformation_wave(sorted(ready))
                left -= ready
        outputs = {
            key: {"Value": _text(evaluate(output["Value"], self.values))}
            for key, output in self.template.get("Outputs", {}).items()
        }
        self.waves += 1
        return self._send(outputs)

    def _needs_in(self, logical_id: str, known: set[str]) -> bool:
        return _needs(self.resources[logical_id]) <= known


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def clients(endpoint_url: str, lambda_url: str, region: str) -> Clients:
    """boto3 clients of the emulated account (Lambda through its front)."""
    session = boto3.session.Session(
        aws_access_key_id=_DUMMY_KEY, aws_secret_access_key=_DUMMY_KEY, region_name=region
    )
    made: dict[str, Any] = {}

    def client(service: str) -> Any:
        if service not in made:
            url = lambda_url if service == "lambda" else endpoint_url
            made[service] = session.client(service, endpoint_url=url)  # type: ignore[call-overload]
        return made[service]

    return client


def deploy(cdk_out: Path, stack: str, *, aws: Clients, account: str, region: str) -> Deployed:
    """Create ``cdk_out``'s ``stack`` in the emulated account; every resource placed."""
    template = json.loads((cdk_out / f"{stack}.template.json").read_text())
    placed = parts(template)
    _bootstrap(aws, cdk_out, stack, template)
    pseudo = {
        "AWS::Region": region,
        "AWS::AccountId": account,
        "AWS::Partition": "aws",
        "AWS::URLSuffix": "amazonaws.com",
        "AWS::StackName": stack,
        "AWS::NoValue": "",
    }
    run = _Deploy(aws, stack, template, Values(pseudo))
    outputs = run.run()
    return Deployed(stack, placed, outputs, run.waves, run.tasks, template, run.values)


#: What an update of the deployed stack changes through the APIs, by type, and how.
UPDATES = {
    "AWS::Lambda::Function": "its environment and description (UpdateFunctionConfiguration)",
    "AWS::Lambda::Version": "a new version published (PublishVersion); the old one stays",
    "AWS::Lambda::Alias": (
        "moved to the new version, no weights left (UpdateAlias): as CodeDeploy leaves it "
        "after a successful canary, which does not run here"
    ),
    "AWS::IAM::Policy": "its document put again (PutRolePolicy)",
    "AWS::CloudWatch::Alarm": "put again under its name (PutMetricAlarm)",
    "AWS::CloudWatch::Dashboard": "put again under its name (PutDashboard)",
}
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


#: A function's properties a traffic deploy changes (the target's URL, the description).
_FUNCTION_UPDATES = ("Environment", "Description")


def _beyond_environment(old: dict[str, Any], new: dict[str, Any], lid: str) -> list[str]:
    """What a function's change holds beyond :data:`_FUNCTION_UPDATES` (what a traffic deploy
    changes): the keys of its resource that differ."""
    before, after = old["Resources"][lid], new["Resources"][lid]
    keys = {*before.get("Properties", {}), *after.get("Properties", {})} - set(_FUNCTION_UPDATES)
    differ = [k for k in sorted(keys) if before["Properties"].get(k) != after["Properties"].get(k)]
    others = {*before, *after} - {"Properties", "Metadata"}
    return differ + [k for k in sorted(others) if before.get(k) != after.get(k)]


def update(cdk_out: Path, deployed: Deployed, *, aws: Clients) -> list[Change]:
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
    unknown = [
        f"{lid} ({kind})"
        for lid, kind in sorted(kinds.items())
        if kind not in UPDATES
        or (lid in added and kind != "AWS::Lambda::Version")
        or (lid in removed and kind != "AWS::Lambda::Version")
    ]
    unknown += [
        f"{lid} ({kinds[lid]}: its {', '.join(others)})"
        for lid in changed
        if kinds[lid] == "AWS::Lambda::Function"
        and (others := _beyond_environment(deployed.template, new, lid))
    ]
    if unknown:
        raise DeployError(f"the rehearsal's update does not change {', '.join(unknown)}")
    values, done = deployed.values, []
    pending = set(added) | set(changed)
    while pending:  # each after what it names (a function's new version, then its alias...)
        ready = sorted(lid for lid in pending if not _needs(resources[lid]) & (pending - {lid}))
        if not ready:
            raise DeployError(f"the update's changes name each other: {sorted(pending)}")
        for lid in ready:
            kind = kinds[lid]
            try:
                properties = resources[lid].get("Properties", {})
                if kind == "AWS::Lambda::Function":  # only these change (checked above)
                    properties = {k: properties[k] for k in _FUNCTION_UPDATES if k in properties}
                properties = evaluate(properties, values)
                done.append(Change(lid, kind, _update(aws, kind, lid, properties, values)))
            except TemplateError as exc:
                raise DeployError(f"{lid} ({kind}): {exc}") from exc
            except Exception as exc:  # moto's answer: the update's refusal, named
                raise DeployError(f"{lid} ({kind}) through its API: {exc}") from exc
            pending.discard(lid)
    outputs = {
        key: _text(evaluate(output["Value"], values))
        for key, output in new.get("Outputs", {}).items()
    }
    if moved := sorted(k for k in outputs if outputs[k] != deployed.outputs.get(k)):
        raise DeployError(f"the update changes the stack's outputs {', '.join(moved)}")
    deployed.template = new
    return done


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
