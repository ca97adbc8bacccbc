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

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rehearsal.bootstrap import bootstrap, clients
from rehearsal.resources import API, NOT_CREATED, Clients, inline_egress
from rehearsal.tasks import start_tasks
from rehearsal.template import TemplateError, Values, dependencies, evaluate, rewrite

__all__ = [
    "AFTER",
    "CLOUDFORMATION",
    "FUNCTION_UPDATES",
    "DeployError",
    "Deployed",
    "Placed",
    "clients",
    "deploy",
    "parts",
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
#: A function's properties a traffic deploy changes (the target's URL, the description): the
#: deploy reads what they name, so that ``rehearsal.update`` can put them again.
FUNCTION_UPDATES = ("Environment", "Description")
#: The types an update may put again from all their properties (``rehearsal.update``): the
#: deploy reads what they name.
_UPDATED_WHOLE = (
    "AWS::ECS::Service",
    "AWS::ECS::TaskDefinition",
    "AWS::EC2::VPCEndpoint",
    "AWS::IAM::Policy",
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
#: Attributes moto's models do not answer (one such Fn::GetAtt among the stack's outputs and
#: the stack answers none): derived from the resource's Ref (its ARN) instead.
_DERIVED: dict[tuple[str, str], Callable[[str], str]] = {
    ("AWS::ElasticLoadBalancingV2::TargetGroup", "TargetGroupFullName"): lambda arn: arn.split(
        ":", 5
    )[5],
    # moto answers this one with the output's own text, "{'Fn::GetAtt': [...]}": the canary's
    # AlbErrorRate alarm had that as its LoadBalancer dimension, and counted nothing.
    ("AWS::ElasticLoadBalancingV2::LoadBalancer", "LoadBalancerFullName"): lambda arn: arn.split(
        ":loadbalancer/", 1
    )[1],
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
        for lid, resource in self.resources.items():
            properties = resource.get("Properties", {})
            if resource["Type"] == "AWS::EC2::SecurityGroup":
                nodes.append(properties.get("SecurityGroupEgress", []))
                # What an update may create names groups (a VPC endpoint's).
                nodes.append({"Fn::GetAtt": [lid, "GroupId"]})
            # The service's tasks; what an update may put again through the APIs (``update``).
            elif resource["Type"] in _UPDATED_WHOLE:
                nodes.append(properties)
            elif resource["Type"] == "AWS::Lambda::Function":
                nodes.append([properties.get(key) for key in FUNCTION_UPDATES])
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
                    if str(answer).startswith(("{'Fn::", '{"Fn::')):  # moto left it unresolved
                        raise DeployError(f"{logical_id}.{attribute}: moto answers {answer}")
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


def deploy(cdk_out: Path, stack: str, *, aws: Clients, account: str, region: str) -> Deployed:
    """Create ``cdk_out``'s ``stack`` in the emulated account; every resource placed."""
    template = json.loads((cdk_out / f"{stack}.template.json").read_text())
    placed = parts(template)
    bootstrap(aws, cdk_out, stack, template)
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
