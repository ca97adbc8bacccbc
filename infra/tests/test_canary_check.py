"""The canary's check: CodeDeploy's hooks of alias live, least privilege, wired before traffic."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Match, Template

HOOK = "lambdas.canary_check.handler.handler"


@pytest.fixture(scope="module")
def synth(bare_stack, service_parts):
    from query_infra.edge import Edge

    def synth(config) -> tuple[Template, Edge]:
        stack = bare_stack()
        parts = service_parts(stack, config)
        edge = Edge(
            stack,
            "Edge",
            config=config,
            network=parts["network"],
            service=parts["service"],
            account=parts["account"],
            caller_proof_keys=parts["data"].caller_proof_keys,
        )
        return Template.from_stack(stack), edge

    return synth


@pytest.fixture(scope="module")
def checked(synth, make_config):
    return synth(make_config(canary_test_user_id="canary-check-user", owner_claim="sub"))


def _one(template: Template, kind: str, props: dict) -> tuple[str, dict]:
    ((logical_id, resource),) = template.find_resources(kind, props).items()
    return logical_id, resource


def _version(template: Template) -> str:
    ((version, _),) = template.find_resources("AWS::Lambda::Version").items()
    return version


def test_the_hook_checks_the_published_version_with_the_test_identity(checked):
    template, _ = checked
    _, hook = _one(template, "AWS::Lambda::Function", {"Properties": {"Handler": HOOK}})
    variables = hook["Properties"]["Environment"]["Variables"]
    assert variables["TARGET_VERSION_ARN"] == {"Ref": _version(template)}
    assert variables["TEST_USER_ID"] == "canary-check-user"
    assert variables["OWNER_CLAIM"] == "sub"
    assert variables["EXPECT_MARKETING_GONE"] == "true"  # trafficTarget=ecs
    assert "VpcConfig" not in hook["Properties"]  # the Lambda and CodeDeploy APIs only


def test_codedeploy_runs_it_before_and_after_traffic_moves(checked):
    template, _ = checked
    hook_id, _ = _one(template, "AWS::Lambda::Function", {"Properties": {"Handler": HOOK}})
    _, alias = _one(template, "AWS::Lambda::Alias", {})
    update = alias["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"]
    assert update["BeforeAllowTrafficHook"] == {"Ref": hook_id}
    assert update["AfterAllowTrafficHook"] == {"Ref": hook_id}
    # the hook and its permissions are in place before the alias (and its deployment) moves
    policies = template.find_resources("AWS::IAM::Policy")
    hook_policy = next(k for k in policies if k.startswith("EdgeCheckHookRoleDefaultPolicy"))
    assert {hook_id, hook_policy} <= set(alias["DependsOn"])


def test_its_role_invokes_only_that_version_and_reports_only_for_its_group(checked):
    template, _ = checked
    policies = template.find_resources("AWS::IAM::Policy")
    (statements,) = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for k, p in policies.items()
        if k.startswith("EdgeCheckHookRoleDefaultPolicy")
    ]
    actions = {
        (s["Action"] if isinstance(s["Action"], str) else tuple(s["Action"])): s["Resource"]
        for s in statements
    }
    assert actions.pop("lambda:InvokeFunction") == {"Ref": _version(template)}
    report = actions.pop("codedeploy:PutLifecycleEventHookExecutionStatus")
    group, _ = _one(template, "AWS::CodeDeploy::DeploymentGroup", {})
    application, _ = _one(template, "AWS::CodeDeploy::Application", {})
    assert report["Fn::Join"][1][-4:] == [
        ":deploymentgroup:",
        {"Ref": application},
        "/",
        {"Ref": group},
    ]
    assert set(actions) <= {("logs:CreateLogStream", "logs:PutLogEvents")}
    assert all(s["Effect"] == "Allow" for s in statements)


def test_codedeploy_may_invoke_the_hook(checked):
    from query_infra.nag import CANARY_CHECK_FUNCTION

    template, _ = checked
    hook_id, _ = _one(template, "AWS::Lambda::Function", {"Properties": {"Handler": HOOK}})
    assert hook_id == CANARY_CHECK_FUNCTION  # the id the accepted cdk-nag finding names
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Action": "lambda:InvokeFunction",
                                "Resource": Match.array_with([{"Fn::GetAtt": [hook_id, "Arn"]}]),
                            }
                        )
                    ]
                )
            },
            "Roles": [{"Ref": Match.string_like_regexp("EdgeRollbackCanaryServiceRole")}],
        },
    )


def test_in_the_eks_phase_marketing_is_not_expected_gone(synth, make_config, context):
    template, _ = synth(
        make_config(
            canary_test_user_id="canary-check-user",
            traffic_target="eks",
            old_eks_handler_url=context["oldEksHandlerUrl"],
            old_eks_handler_peer=context["oldEksHandlerPeer"],
        )
    )
    _, hook = _one(template, "AWS::Lambda::Function", {"Properties": {"Handler": HOOK}})
    assert hook["Properties"]["Environment"]["Variables"]["EXPECT_MARKETING_GONE"] == "false"


def test_without_a_test_identity_there_is_no_hook_and_synth_says_so(synth, make_config):
    template, edge = synth(make_config())
    assert template.find_resources("AWS::Lambda::Function", {"Properties": {"Handler": HOOK}}) == {}
    (_, alias) = _one(template, "AWS::Lambda::Alias", {})
    update = alias["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"]
    assert "BeforeAllowTrafficHook" not in update
    warnings = [e.data for e in edge.node.metadata if e.type == "aws:cdk:warning"]
    assert any("canaryTestUserId is not set" in str(w) for w in warnings)


def test_the_stack_names_the_checks_log_group(existing):
    """The runbook's canary step reads the verdicts there."""
    outputs = existing.template["Outputs"]
    assert "CanaryCheckLogGroupName" in outputs
