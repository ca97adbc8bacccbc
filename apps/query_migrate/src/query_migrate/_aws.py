"""boto3 clients for one account and region, and the one place botocore's errors are translated."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from functools import cached_property
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from query_migrate._errors import AwsError

if TYPE_CHECKING:
    from mypy_boto3_apigateway.client import APIGatewayClient
    from mypy_boto3_cloudformation.client import CloudFormationClient
    from mypy_boto3_cloudwatch.client import CloudWatchClient
    from mypy_boto3_codedeploy.client import CodeDeployClient
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_ec2.client import EC2Client
    from mypy_boto3_ecs.client import ECSClient
    from mypy_boto3_elbv2.client import ElasticLoadBalancingv2Client
    from mypy_boto3_lambda.client import LambdaClient
    from mypy_boto3_logs.client import CloudWatchLogsClient
    from query_http_client.sigv4 import SigV4Signer

__all__ = ["Aws", "aws_errors"]

#: Standard retries (throttling included) and timeouts a person waits for, not Lambda's.
_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 4}, connect_timeout=5, read_timeout=30
)


@contextlib.contextmanager
def aws_errors(what: str) -> Iterator[None]:
    """Translate botocore's exceptions raised by ``what`` (e.g. "GetIntegration") to AwsError."""
    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = error.get("Code", "?")
        message = error.get("Message", "") or str(exc)
        raise AwsError(f"{what} failed: {code}: {message}", code=code) from exc
    except BotoCoreError as exc:
        raise AwsError(f"{what} failed: {exc}") from exc


class Aws:
    """One boto3 session; a client per service, made on first use.

    ``endpoint_url`` sends every call to one endpoint (moto's server in tests); without it
    boto3 uses AWS's endpoints, or ``AWS_ENDPOINT_URL``/``AWS_ENDPOINT_URL_<SERVICE>``.
    """

    def __init__(
        self,
        *,
        region: str | None = None,
        profile: str | None = None,
        endpoint_url: str | None = None,
    ) -> None:
        # botocore reads AWS_DEFAULT_REGION; the other SDKs and the CLI v2 also AWS_REGION.
        region = region or os.environ.get("AWS_REGION") or None
        with aws_errors("opening the AWS session"):
            self.session = boto3.session.Session(profile_name=profile, region_name=region)
        self.endpoint_url = endpoint_url

    @property
    def region(self) -> str:
        region = self.session.region_name
        if not region:
            raise AwsError("no AWS region: pass --region or set AWS_REGION")
        return region

    @property
    def _client_args(self) -> dict[str, Any]:
        return {"region_name": self.region, "endpoint_url": self.endpoint_url, "config": _CONFIG}

    def signer(self) -> SigV4Signer:
        """query_http_client's SigV4 signer (execute-api) with this session's credentials."""
        from query_http_client.sigv4 import SigV4Signer

        try:
            return SigV4Signer(self.region, credentials=self.session.get_credentials())
        except ValueError as exc:
            raise AwsError(str(exc)) from exc

    @cached_property
    def apigateway(self) -> APIGatewayClient:
        return self.session.client("apigateway", **self._client_args)

    @cached_property
    def cloudformation(self) -> CloudFormationClient:
        return self.session.client("cloudformation", **self._client_args)

    @cached_property
    def cloudwatch(self) -> CloudWatchClient:
        return self.session.client("cloudwatch", **self._client_args)

    @cached_property
    def codedeploy(self) -> CodeDeployClient:
        return self.session.client("codedeploy", **self._client_args)

    @cached_property
    def dynamodb(self) -> DynamoDBClient:
        return self.session.client("dynamodb", **self._client_args)

    @cached_property
    def ec2(self) -> EC2Client:
        return self.session.client("ec2", **self._client_args)

    @cached_property
    def ecs(self) -> ECSClient:
        return self.session.client("ecs", **self._client_args)

    @cached_property
    def elbv2(self) -> ElasticLoadBalancingv2Client:
        return self.session.client("elbv2", **self._client_args)

    @cached_property
    def lambda_(self) -> LambdaClient:
        return self.session.client("lambda", **self._client_args)

    @cached_property
    def logs(self) -> CloudWatchLogsClient:
        return self.session.client("logs", **self._client_args)
