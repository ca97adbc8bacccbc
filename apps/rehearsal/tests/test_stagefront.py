"""A deployment to an existing stage keeps its settings, as on AWS, through the rehearsal's
API Gateway front (moto's server alone replaces the stage).

docs/decisions/0015-runbook-rehearsal.md#the-access-log
"""

from __future__ import annotations

from typing import Any

import boto3
from query_devstack import EmulatorProcess, load_account
from rehearsal.stagefront import StageKeepingFront, kept_settings


def _apigateway(url: str) -> Any:
    make: Any = boto3.client
    return make("apigateway", endpoint_url=url, region_name="us-east-1",
                aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip


def test_a_deployment_to_an_existing_stage_keeps_its_access_log_and_metrics() -> None:
    """Fails without the front: attach's and retire-marketing's CreateDeployment to stage prod
    left it without the access log (and detailed metrics) the fixture gave it, so
    retire-marketing found no history. moto alone drops them (if a moto release keeps them,
    that assertion fails: the front can go)."""
    with EmulatorProcess() as moto:
        account = load_account(moto.endpoint_url)
        api = account.api_id
        direct = _apigateway(moto.endpoint_url)
        metrics = {"op": "replace", "path": "/*/*/metrics/enabled", "value": "true"}
        for stage in account.stages:
            direct.update_stage(restApiId=api, stageName=stage, patchOperations=[metrics])
        before = direct.get_stage(restApiId=api, stageName="prod")
        assert before["accessLogSettings"]["format"]
        with StageKeepingFront(moto.endpoint_url) as front:
            through = _apigateway(front.url)
            deployment = through.create_deployment(restApiId=api, stageName="prod")["id"]
            after = through.get_stage(restApiId=api, stageName="prod")
            assert after["deploymentId"] == deployment != before["deploymentId"]
            assert after["accessLogSettings"] == before["accessLogSettings"]
            assert after["methodSettings"]["*/*"]["metricsEnabled"] is True
            assert front.kept == [(api, "prod", len(kept_settings(before, {})))]
            # A deployment to no stage, or to a new one, is moto's alone.
            through.create_deployment(restApiId=api)
            through.create_deployment(restApiId=api, stageName="new")
            assert len(front.kept) == 1
        direct.create_deployment(restApiId=api, stageName="staging")
        assert direct.get_stage(restApiId=api, stageName="staging").get("accessLogSettings") in (
            None,
            {},
        )


def test_kept_settings_are_aws_patch_paths() -> None:
    stage = {
        "accessLogSettings": {"destinationArn": "arn:g", "format": "$context.requestId"},
        "methodSettings": {"~1query~1result/POST": {"metricsEnabled": False, "other": 1}},
        "tracingEnabled": True,
        "variables": {"a": "1", "b": "2"},
    }
    assert kept_settings(stage, {"b": "3"}) == [
        {"op": "replace", "path": "/accessLogSettings/destinationArn", "value": "arn:g"},
        {"op": "replace", "path": "/accessLogSettings/format", "value": "$context.requestId"},
        {"op": "replace", "path": "/~1query~1result/POST/metrics/enabled", "value": "false"},
        {"op": "replace", "path": "/tracingEnabled", "value": "true"},
        {"op": "replace", "path": "/variables/a", "value": "1"},
    ]
