"""The resources of the template that the deploy creates through their own APIs (moto's
CloudFormation has no model for their type, or a model that cannot be used), each from its
properties as the template gives them (intrinsic functions already evaluated), and the types it
does not create, each with the reason.

A handler returns what the resource answers to ``Ref`` and its ``Fn::GetAtt`` attributes.
"""

from __future__ import annotations

import json
import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "API",
    "NOT_CREATED",
    "Clients",
    "Created",
    "create_vpc_endpoint",
    "inline_egress",
    "update_egress",
]

Clients = Callable[[str], Any]  # a boto3 client of the emulated account, by service name


@dataclass(frozen=True)
class Created:
    ref: Any
    attributes: dict[str, Any]


def _name(stack: str, logical_id: str, limit: int = 64) -> str:
    return f"{stack}-{logical_id}"[:limit]


def _camel(node: Any) -> Any:
    """CloudFormation's ``PascalCase`` keys as the ``camelCase`` of the service's API."""
    if isinstance(node, dict):
        return {key[:1].lower() + key[1:]: _camel(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_camel(value) for value in node]
    return node


def _tags(props: dict[str, Any]) -> list[dict[str, str]]:
    return [{"Key": tag["Key"], "Value": tag["Value"]} for tag in props.get("Tags", [])]


def _secret(aws: Clients, stack: str, lid: str, p: dict[str, Any]) -> Created:
    generate = p.get("GenerateSecretString")
    value = p.get("SecretString")
    if generate:
        alphabet = string.ascii_letters + string.digits
        if not generate.get("ExcludePunctuation"):
            alphabet += string.punctuation
        password = "".join(secrets.choice(alphabet) for _ in range(generate["PasswordLength"]))
        if key := generate.get("GenerateStringKey"):
            value = json.dumps(json.loads(generate["SecretStringTemplate"]) | {key: password})
        else:
            value = password
    arn = aws("secretsmanager").create_secret(
        Name=p.get("Name", _name(stack, lid)),
        Description=p.get("Description", ""),
        SecretString=value or "",
    )["ARN"]
    return Created(arn, {"Id": arn})


def _codedeploy_application(aws: Clients, stack: str, lid: str, p: dict[str, Any]) -> Created:
    name = p.get("ApplicationName", _name(stack, lid))
    aws("codedeploy").create_application(
        applicationName=name, computePlatform=p.get("ComputePlatform", "Server")
    )
    return Created(name, {})


def _deployment_group(aws: Clients, stack: str, lid: str, p: dict[str, Any]) -> Created:
    name = p.get("DeploymentGroupName", _name(stack, lid))
    fields = _camel(
        {
            key: p[key]
            for key in (
                "DeploymentConfigName",
                "DeploymentStyle",
                "AlarmConfiguration",
                "AutoRollbackConfiguration",
            )
            if key in p
        }
    )
    aws("codedeploy").create_deployment_group(
        applicationName=p["ApplicationName"],
        deploymentGroupName=name,
        serviceRoleArn=p["ServiceRoleArn"],
        **fields,
    )
    return Created(name, {})


def _version(aws: Clients, stack: str, lid: str, p: dict[str, Any]) -> Created:
    done = aws("lambda").publish_version(FunctionName=p["FunctionName"])
    return Created(done["FunctionArn"], {"Version": done["Version"]})


def _alias(aws: Clients, stack: str, lid: str, p: dict[str, Any]) -> Created:
    fields = {"RoutingConfig": p["RoutingConfig"]} if "RoutingConfig" in p else {}
    arn = aws("lambda").create_alias(
        FunctionName=p["FunctionName"],
        Name=p["Name"],
        FunctionVersion=p["FunctionVersion"],
        **fields,
    )["AliasArn"]
    return Created(arn, {})


def _stage(aws: Clients, stack: str, lid: str, p: dict[str, Any]) -> Created:
    apigateway = aws("apigateway")
    fields = {"variables": p["Variables"]} if "Variables" in p else {}
    apigateway.create_stage(
        restApiId=p["RestApiId"],
        stageName=p["StageName"],
        deploymentId=p["DeploymentId"],
        tracingEnabled=bool(p.get("TracingEnabled", False)),
        **fields,
    )
    if log := p.get("AccessLogSetting"):
        apigateway.update_stage(
            restApiId=p["RestApiId"],
            stageName=p["StageName"],
            patchOperations=[
                {
                    "op": "replace",
                    "path": "/accessLogSettings/destinationArn",
                    "value": log["DestinationArn"],
                },
                {"op": "replace", "path": "/accessLogSettings/format", "value": log["Format"]},
            ],
        )
    return Created(p["StageName"], {})


def _account(aws: Clients, stack: str, lid: str, p: dict[str, Any]) -> Created:
    aws("apigateway").update_account(
        patchOperations=[
            {"op": "replace", "path": "/cloudwatchRoleArn", "value": p["CloudWatchRoleArn"]}
        ]
    )
    return Created(_name(stack, lid), {})


_ALARM_FIELDS = (
    "AlarmDescription", "ActionsEnabled", "AlarmActions", "OKActions", "ComparisonOperator",
    "DatapointsToAlarm", "Dimensions", "EvaluateLowSampleCountPercentile", "EvaluationPeriods",
    "ExtendedStatistic", "InsufficientDataActions", "MetricName", "Metrics", "Namespace",
    "Period", "Statistic", "Threshold", "TreatMissingData", "Unit",
)  # fmt: skip


def _alarm(aws: Clients, stack: str, lid: str, p: dict[str, Any]) -> Created:
    name = p.get("AlarmName", _name(stack, lid, 255))
    fields = {key: p[key] for key in _ALARM_FIELDS if key in p}
    aws("cloudwatch").put_metric_alarm(AlarmName=name, **fields)
    arn = aws("cloudwatch").describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["AlarmArn"]
    return Created(name, {"Arn": arn})


def _transformation(transformation: dict[str, Any]) -> dict[str, Any]:
    """CloudFormation's ``Dimensions`` (a list of ``Key``/``Value``) as the API's map."""
    made = _camel({k: v for k, v in transformation.items() if k != "Dimensions"})
    if dimensions := transformation.get("Dimensions"):
        made["dimensions"] = {d["Key"]: d["Value"] for d in dimensions}
    return dict(made)


def _dashboard(aws: Clients, stack: str, lid: str, p: dict[str, Any]) -> Created:
    name = p.get("DashboardName", _name(stack, lid, 255))
    aws("cloudwatch").put_dashboard(DashboardName=name, DashboardBody=p["DashboardBody"])
    return Created(name, {})


def _metric_filter(aws: Clients, stack: str, lid: str, p: dict[str, Any]) -> Created:
    name = p.get("FilterName", _name(stack, lid, 512))
    aws("logs").put_metric_filter(
        logGroupName=p["LogGroupName"],
        filterName=name,
        filterPattern=p["FilterPattern"],
        metricTransformations=[_transformation(t) for t in p["MetricTransformations"]],
    )
    return Created(name, {})


def _egress(aws: Clients, stack: str, lid: str, p: dict[str, Any]) -> Created:
    done = aws("ec2").authorize_security_group_egress(
        GroupId=p["GroupId"], IpPermissions=[_permission(p)]
    )
    rule = done.get("SecurityGroupRules", [{}])[0].get("SecurityGroupRuleId", _name(stack, lid))
    return Created(rule, {})


def _bucket_policy(aws: Clients, stack: str, lid: str, p: dict[str, Any]) -> Created:
    aws("s3").put_bucket_policy(Bucket=p["Bucket"], Policy=json.dumps(p["PolicyDocument"]))
    return Created(p["Bucket"], {})


def _codebuild_project(aws: Clients, stack: str, lid: str, p: dict[str, Any]) -> Created:
    name = p.get("Name", _name(stack, lid, 150))
    fields = {"logsConfig": _camel(p["LogsConfig"])} if "LogsConfig" in p else {}
    if "TimeoutInMinutes" in p:
        fields["timeoutInMinutes"] = int(p["TimeoutInMinutes"])
    project = aws("codebuild").create_project(
        name=name,
        source={
            ("buildspec" if k == "buildSpec" else k): v for k, v in _camel(p["Source"]).items()
        },
        artifacts=_camel(p["Artifacts"]),
        environment=_camel(p["Environment"]),
        serviceRole=p["ServiceRole"],
        **fields,
    )["project"]
    return Created(name, {"Arn": project["arn"]})


def _scalable_target(aws: Clients, stack: str, lid: str, p: dict[str, Any]) -> Created:
    aws("application-autoscaling").register_scalable_target(
        ServiceNamespace=p["ServiceNamespace"],
        ResourceId=p["ResourceId"],
        ScalableDimension=p["ScalableDimension"],
        MinCapacity=int(p["MinCapacity"]),
        MaxCapacity=int(p["MaxCapacity"]),
        **({"RoleARN": p["RoleARN"]} if "RoleARN" in p else {}),
    )
    ref = f"{p['ResourceId']}|{p['ScalableDimension']}|{p['ServiceNamespace']}"
    return Created(ref, {})


def _scaling_policy(aws: Clients, stack: str, lid: str, p: dict[str, Any]) -> Created:
    resource_id, dimension, namespace = p["ScalingTargetId"].split("|")
    fields = {}
    if config := p.get("TargetTrackingScalingPolicyConfiguration"):
        fields["TargetTrackingScalingPolicyConfiguration"] = config
    arn = aws("application-autoscaling").put_scaling_policy(
        PolicyName=p["PolicyName"],
        ServiceNamespace=namespace,
        ResourceId=resource_id,
        ScalableDimension=dimension,
        PolicyType=p["PolicyType"],
        **fields,
    )["PolicyARN"]
    return Created(arn, {"Arn": arn})


def _web_acl(aws: Clients, stack: str, lid: str, p: dict[str, Any]) -> Created:
    name = p.get("Name", _name(stack, lid, 128))
    summary = aws("wafv2").create_web_acl(
        Name=name,
        Scope=p["Scope"],
        DefaultAction=p["DefaultAction"],
        VisibilityConfig=p["VisibilityConfig"],
        Rules=p.get("Rules", []),
        Description=p.get("Description", name),
    )["Summary"]
    ref = f"{name}|{summary['Id']}|{p['Scope']}"
    return Created(ref, {"Arn": summary["ARN"], "Id": summary["Id"]})


def _web_acl_association(aws: Clients, stack: str, lid: str, p: dict[str, Any]) -> Created:
    aws("wafv2").associate_web_acl(WebACLArn=p["WebACLArn"], ResourceArn=p["ResourceArn"])
    return Created(f"{p['WebACLArn']}|{p['ResourceArn']}", {})


def _path(found: Any, path: str) -> Any:
    for part in path.split("."):
        found = found[int(part)] if isinstance(found, list) else found[part]
    return found


def _aws_call(aws: Clients, stack: str, lid: str, p: dict[str, Any]) -> Created:
    """``Custom::AWS`` (the CDK's ``AwsCustomResource``): its ``Create`` call made directly."""
    call = json.loads(p["Create"])
    service = {"APIGateway": "apigateway"}.get(call["service"], call["service"].lower())
    action = "".join(f"_{c.lower()}" if c.isupper() else c for c in call["action"]).lstrip("_")
    answer = getattr(aws(service), action)(**call.get("parameters", {}))
    attributes = {path: _path(answer, path) for path in call.get("outputPaths", [])}
    return Created(call.get("physicalResourceId", {}).get("id", _name(stack, lid)), attributes)


#: The types created through their own APIs: type -> (handler, why not CloudFormation).
API: dict[str, tuple[Callable[[Clients, str, str, dict[str, Any]], Created], str]] = {
    "AWS::SecretsManager::Secret": (_secret, "no CloudFormation model in moto"),
    "AWS::CodeDeploy::Application": (_codedeploy_application, "no CloudFormation model"),
    "AWS::CodeDeploy::DeploymentGroup": (_deployment_group, "no CloudFormation model"),
    "AWS::Lambda::Version": (
        _version,
        "moto's model answers Ref and Fn::GetAtt Version with an object, not the ARN",
    ),
    "AWS::Lambda::Alias": (_alias, "no CloudFormation model"),
    "AWS::ApiGateway::Stage": (_stage, "no CloudFormation model"),
    "AWS::ApiGateway::Account": (_account, "no CloudFormation model"),
    "AWS::CloudWatch::Alarm": (_alarm, "no CloudFormation model"),
    "AWS::CloudWatch::Dashboard": (
        _dashboard,
        "moto's model creates it but returns no resource: its Ref breaks the stack's outputs",
    ),
    "AWS::Logs::MetricFilter": (_metric_filter, "no CloudFormation model"),
    "AWS::EC2::SecurityGroupEgress": (_egress, "no CloudFormation model"),
    "AWS::S3::BucketPolicy": (_bucket_policy, "no CloudFormation model"),
    "AWS::CodeBuild::Project": (_codebuild_project, "no CloudFormation model"),
    "AWS::ApplicationAutoScaling::ScalableTarget": (_scalable_target, "no CloudFormation model"),
    "AWS::ApplicationAutoScaling::ScalingPolicy": (_scaling_policy, "no CloudFormation model"),
    "AWS::WAFv2::WebACL": (_web_acl, "no CloudFormation model"),
    "AWS::WAFv2::WebACLAssociation": (_web_acl_association, "no CloudFormation model"),
    "Custom::AWS": (
        _aws_call,
        "answered by the same call made directly (moto would run its provider Lambda in Docker)",
    ),
}

#: The types not created, each with the reason.
NOT_CREATED: dict[str, str] = {
    "Custom::ImageBuild": (
        "no image runs here (the ECS service is moto's): the build is not run, the task "
        "definition names the tag it would push"
    ),
    "AWS::CDK::Metadata": "the CDK's usage report: nothing to create",
    "AWS::Lambda::ResourcePolicy": (
        "moto's Lambda has no PutResourcePolicy; the Query Result Lambda's policy (its deny) "
        "is checked on the synthesized template (infra/tests/test_side_doors.py)"
    ),
}


#: CloudFormation's ``SecurityGroupEgress`` when a group has no egress (the CDK's
#: ``allowAllOutbound: false``): a rule that matches nothing.
_ALL = {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}


def _permission(rule: dict[str, Any]) -> dict[str, Any]:
    """One ``SecurityGroupEgress`` (or ``AWS::EC2::SecurityGroupEgress``) as EC2's API takes it."""
    permission: dict[str, Any] = {"IpProtocol": str(rule["IpProtocol"])}
    for key in ("FromPort", "ToPort"):
        if key in rule:
            permission[key] = int(rule[key])
    described = {"Description": rule["Description"]} if rule.get("Description") else {}
    if "CidrIp" in rule:
        permission["IpRanges"] = [{"CidrIp": rule["CidrIp"], **described}]
    if "DestinationSecurityGroupId" in rule:
        permission["UserIdGroupPairs"] = [{"GroupId": rule["DestinationSecurityGroupId"]}]
    if "DestinationPrefixListId" in rule:
        permission["PrefixListIds"] = [{"PrefixListId": rule["DestinationPrefixListId"]}]
    return permission


def inline_egress(aws: Clients, group_id: str, egress: list[dict[str, Any]]) -> None:
    """A security group's inline ``SecurityGroupEgress``, which moto's model drops (leaving its
    allow-all): the allow-all revoked and each rule authorized, as CloudFormation does."""
    if not egress:  # CloudFormation's default: all outbound, as moto leaves it
        return
    ec2 = aws("ec2")
    ec2.revoke_security_group_egress(GroupId=group_id, IpPermissions=[_ALL])
    ec2.authorize_security_group_egress(
        GroupId=group_id, IpPermissions=[_permission(rule) for rule in egress]
    )


def update_egress(
    aws: Clients, group_id: str, old: list[dict[str, Any]], new: list[dict[str, Any]]
) -> None:
    """A group's inline egress from ``old`` to ``new`` as CloudFormation changes it (no rule:
    all outbound); its other rules (``AWS::EC2::SecurityGroupEgress`` resources) stay."""
    gone = [_permission(rule) for rule in old if rule not in new] if old else [_ALL]
    added = [_permission(rule) for rule in new if rule not in old] if new else [_ALL]
    if not old and not new:
        return
    ec2 = aws("ec2")
    if gone:
        ec2.revoke_security_group_egress(GroupId=group_id, IpPermissions=gone)
    if added:
        ec2.authorize_security_group_egress(GroupId=group_id, IpPermissions=added)


def create_vpc_endpoint(aws: Clients, p: dict[str, Any]) -> str:
    """An ``AWS::EC2::VPCEndpoint`` an update adds, through EC2's API; returns its id."""
    fields = {
        key[:1].upper() + key[1:]: p[key]
        for key in ("SubnetIds", "SecurityGroupIds", "RouteTableIds", "PrivateDnsEnabled")
        if key in p
    }
    done = aws("ec2").create_vpc_endpoint(
        VpcId=p["VpcId"],
        ServiceName=p["ServiceName"],
        VpcEndpointType=p.get("VpcEndpointType", "Gateway"),
        **fields,
    )
    return str(done["VpcEndpoint"]["VpcEndpointId"])
