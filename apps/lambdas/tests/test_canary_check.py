"""The canary's traffic hook: the new Query Lambda version checked with the test identity.

Real HTTP on 127.0.0.1 throughout: boto3's Lambda client calls a stand-in of Lambda's Invoke
API that runs the real Query Lambda handler, which forwards to a stand-in of the service
(with its owner check: ``X-Caller-Id`` must be the ``user_id``). moto's server has no
``PutLifecycleEventHookExecutionStatus`` (moto 5.2's CodeDeploy implements applications,
deployment groups and deployments only), so that one call goes through botocore's Stubber.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

import boto3
import pytest
from botocore.stub import Stubber
from lambdas.canary_check._settings import CanaryCheckSettings
from lambdas.query._settings import QueryLambdaSettings
from lambdas.query.handler import handler as query_handler
from query_core import RETIRED_MARKETING_DETAIL, PageTokenCodec
from query_devstack import MisbehavingServer, RecordedRequest, Reply, ulid

pytestmark = pytest.mark.usefixtures("fake_aws_credentials")

VERSION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:query-lambda:7"
TEST_USER = "canary-test-user"
_RNG = random.Random(4)
RESULTS = sorted((ulid(datetime(2026, 12, 1, tzinfo=UTC), _RNG) for _ in range(7)), reverse=True)
#: The public API's id: the Query Lambda takes only its events, and the hook says it is one.
API_ID = "q7r8s9t0u1"
EVENT = {"DeploymentId": "d-ABCDEF123", "LifecycleEventHookExecutionId": "hook-exec-1"}


@pytest.fixture(scope="module")
def hook_module() -> Any:
    """The hook's handler module, imported as Lambda does: its settings read at init."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TARGET_VERSION_ARN", VERSION_ARN)
        patch.setenv("TEST_USER_ID", TEST_USER)
        from lambdas.canary_check import handler as module
        from lambdas.canary_check._settings import get_settings

        assert get_settings() == CanaryCheckSettings(VERSION_ARN, TEST_USER)
        get_settings.cache_clear()
        return module


def _json(status: int, document: Any) -> Reply:
    return Reply(status=status, body=json.dumps(document).encode())


class Service:
    """The service behind the ALB: the owner check, pages of the test user, the 410."""

    def __init__(self) -> None:
        self.codec = PageTokenCodec()
        self.results: dict[str, list[str]] = {TEST_USER: RESULTS}
        self.marketing = _json(410, {"detail": RETIRED_MARKETING_DETAIL})
        self.status = 200

    def __call__(self, request: RecordedRequest) -> Reply:
        if request.target.startswith("/query/marketing"):
            return self.marketing
        body = json.loads(request.body)
        user = body["user_id"]
        if request.headers.get("x-caller-id") != user:
            return _json(403, {"detail": "forbidden"})
        if self.status != 200:
            return _json(self.status, {"detail": "the results service is unavailable"})
        ids = self.results.get(user, [])
        start = 0
        if "next_token" in body:
            after = self.codec.decode(body["next_token"], user_id=user, ap_id=None)
            start = ids.index(after) + 1
        page = ids[start : start + body.get("limit", 20)]
        more = start + len(page) < len(ids)
        items = [
            {"result_id": rid, "user_id": user, "status": "done", "created_at": "2026-12-01"}
            for rid in page
        ]
        token = self.codec.encode(user_id=user, ap_id=None, result_id=page[-1]) if more else None
        return _json(
            200, {"user_id": user, "items": items, "count": len(items), "next_token": token}
        )


class Context:
    aws_request_id = "invoke-id"

    def get_remaining_time_in_millis(self) -> int:
        return 28_000


def invoke_api(request: RecordedRequest) -> Reply:
    """Lambda's Invoke API for the one version: runs the real Query Lambda handler."""
    name = unquote(request.target).removeprefix("/2015-03-31/functions/")
    if name != f"{VERSION_ARN}/invocations":
        return _json(404, {"Type": "User", "message": f"Function not found: {name}"})
    event = json.loads(request.body)
    if event.get("crash"):
        headers = {"content-type": "application/json", "x-amz-function-error": "Unhandled"}
        return Reply(body=b'{"errorMessage": "boom"}', headers=headers)
    return _json(200, query_handler(event, Context()))


@pytest.fixture
def service() -> Service:
    return Service()


@pytest.fixture
def chain(
    monkeypatch, service, hook_module
) -> Iterator[tuple[MisbehavingServer, MisbehavingServer]]:
    from lambdas.query import _forward
    from lambdas.query import handler as query_module

    monkeypatch.setattr(_forward, "_pool", None)
    with MisbehavingServer(service) as alb, MisbehavingServer(invoke_api) as invoke:
        settings = QueryLambdaSettings(eks_handler_url=alb.url, public_api_id=API_ID)
        monkeypatch.setattr(query_module, "get_settings", lambda: settings)
        yield alb, invoke


def hook(
    invoke: MisbehavingServer, expected_status: str, **settings: Any
) -> tuple[dict[str, Any], Stubber]:
    from lambdas.canary_check.handler import run_hook

    lambda_client = boto3.client("lambda", endpoint_url=invoke.url, region_name="us-east-1")
    codedeploy = boto3.client("codedeploy", region_name="us-east-1")
    with Stubber(codedeploy) as stub:
        stub.add_response(
            "put_lifecycle_event_hook_execution_status",
            {"lifecycleEventHookExecutionId": EVENT["LifecycleEventHookExecutionId"]},
            {
                "deploymentId": EVENT["DeploymentId"],
                "lifecycleEventHookExecutionId": EVENT["LifecycleEventHookExecutionId"],
                "status": expected_status,
            },
        )
        config = CanaryCheckSettings(
            **{
                "target_version_arn": VERSION_ARN,
                "test_user_id": TEST_USER,
                "public_api_id": API_ID,
                **settings,
            }
        )
        verdict = run_hook(dict(EVENT), config, lambda_client, codedeploy)
        stub.assert_no_pending_responses()
    return verdict, stub


def test_a_healthy_version_succeeds_through_every_check(chain):
    alb, invoke = chain
    verdict, _ = hook(invoke, "Succeeded", expect_marketing_gone=True)
    assert verdict == {"status": "Succeeded", "problems": []}
    # two pages (the token followed) and the retired path, as the test identity
    assert [r.target for r in alb.requests] == [
        "/query/result",
        "/query/result",
        "/query/marketing",
    ]
    assert {r.headers.get("x-caller-id") for r in alb.requests[:2]} == {TEST_USER}
    assert len(invoke.requests) == 3


def test_a_failing_service_fails_the_deployment(chain, service):
    service.status = 503
    verdict, _ = hook(chain[1], "Failed")
    assert verdict["status"] == "Failed"
    (problem,) = verdict["problems"]
    assert problem.startswith(f"the first page of {TEST_USER!r}: 503, not 200")


def test_an_identity_the_version_does_not_read_is_refused_by_the_owner_check(chain):
    """The hook's claim differs from the Query Lambda's OWNER_CLAIM: the service's 403."""
    verdict, _ = hook(chain[1], "Failed", owner_claim="custom:user_id")
    assert ": 403, not 200" in verdict["problems"][0]


def test_a_check_that_does_not_name_the_public_api_is_refused(chain):
    """PUBLIC_API_ID of the hook differs from the Query Lambda's: its events are 403."""
    verdict, _ = hook(chain[1], "Failed", public_api_id="another-api")
    assert ": 403, not 200" in verdict["problems"][0]
    assert chain[0].requests == []


def test_a_test_user_without_results_proves_nothing(chain, service):
    service.results = {}
    verdict, _ = hook(chain[1], "Failed")
    assert verdict["problems"] == [f"the first page of {TEST_USER!r} is empty: no test results"]


def test_marketing_must_be_gone_only_where_it_applies(chain, service):
    service.marketing = _json(200, {"campaigns": []})  # the old EKS path still serves it
    assert hook(chain[1], "Succeeded", expect_marketing_gone=False)[0]["problems"] == []
    verdict, _ = hook(chain[1], "Failed", expect_marketing_gone=True)
    assert verdict["problems"] == [
        '/query/marketing: 200 {"campaigns": []}, not the contract\'s 410'
    ]


def test_a_malformed_page_is_not_the_contracts(chain, service, monkeypatch):
    service.marketing = _json(410, {"detail": RETIRED_MARKETING_DETAIL})
    original = service.__call__

    def no_count(request: RecordedRequest) -> Reply:
        reply = original(request)
        document = json.loads(reply.body)
        document["items"] = [{"result_id": 1}]
        return _json(reply.status, document)

    with MisbehavingServer(no_count) as alb:
        from lambdas.query import handler as query_module

        settings = QueryLambdaSettings(eks_handler_url=alb.url)
        monkeypatch.setattr(query_module, "get_settings", lambda: settings)
        verdict, _ = hook(chain[1], "Failed")
    assert verdict["problems"][0].startswith("the first page: not the contract's page")


def test_a_crashed_or_missing_version_fails(chain, monkeypatch):
    from lambdas.canary_check import _check

    real_event = _check._event
    monkeypatch.setattr(_check, "_event", lambda *a: {**real_event(*a), "crash": True})
    verdict, _ = hook(chain[1], "Failed")
    assert verdict["problems"] == [
        f'{VERSION_ARN} failed (Unhandled): b\'{{"errorMessage": "boom"}}\''
    ]
    monkeypatch.setattr(_check, "_event", real_event)
    verdict, _ = hook(chain[1], "Failed", target_version_arn=VERSION_ARN[:-1] + "8")
    assert "could not invoke" in verdict["problems"][0]


def test_an_event_that_is_not_codedeploys_is_refused_without_a_call(hook_module):
    assert hook_module.handler({"DeploymentId": 1}, Context()) == {
        "status": "refused",
        "problems": ["not a CodeDeploy lifecycle event"],
    }


@pytest.mark.parametrize(
    ("environ", "line"),
    [
        ({}, "TARGET_VERSION_ARN must be a Lambda version's ARN"),
        ({"TARGET_VERSION_ARN": VERSION_ARN.rsplit(":", 1)[0]}, "TARGET_VERSION_ARN must be"),
        ({"TARGET_VERSION_ARN": VERSION_ARN}, "TEST_USER_ID must name the test user"),
        (
            {"TARGET_VERSION_ARN": VERSION_ARN, "TEST_USER_ID": "u", "EXPECT_MARKETING_GONE": "1"},
            "EXPECT_MARKETING_GONE must be true or false",
        ),
    ],
)
def test_settings_name_the_wrong_variable(environ, line):
    from lambdas._startup import SettingsError

    with pytest.raises(SettingsError, match=line):
        CanaryCheckSettings.from_environ(environ)
