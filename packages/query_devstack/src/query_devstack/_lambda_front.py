"""Lambda's ``GetAccountSettings`` in front of moto's server, which does not implement it.

A real HTTP server on 127.0.0.1 answers ``GET /2016-08-19/account-settings/`` as Lambda does
(the account's concurrency quota, less what its functions reserve, as moto holds them) and
forwards every other request to moto unchanged. Point Lambda's clients at ``url`` (boto3:
``AWS_ENDPOINT_URL_LAMBDA``, or the whole session's ``endpoint_url``).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import boto3

from query_devstack._faults import MisbehavingServer, RecordedRequest, Reply
from query_devstack._process import Background

__all__ = ["LambdaAccountFront"]

#: Response headers that describe moto's connection, not the answer.
_HOP_HEADERS = {"content-length", "transfer-encoding", "connection", "date", "server"}


class LambdaAccountFront(Background):
    """moto behind a front that answers GetAccountSettings with ``quota`` (AWS's default: 1000).

    A context manager; ``url`` is set while it runs; ``quota`` may change between requests.
    """

    def __init__(self, moto_url: str, *, quota: int = 1000, region: str = "us-east-1") -> None:
        self.moto_url = moto_url
        self.quota = quota
        self.url = ""
        self._region = region
        self._server = MisbehavingServer(self.reply)

    def start(self) -> None:
        self._server.start()
        self.url = self._server.url

    def stop(self) -> None:
        self._server.stop()

    def settings(self) -> dict[str, object]:
        """GetAccountSettings' answer for the functions moto holds now."""
        lam = boto3.client(
            "lambda",
            endpoint_url=self.moto_url,
            region_name=self._region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106 - moto's dummy key, 127.0.0.1 only
        )
        names = [f["FunctionName"] for f in lam.list_functions()["Functions"]]
        reserved = sum(
            lam.get_function_concurrency(FunctionName=name).get("ReservedConcurrentExecutions", 0)
            for name in names
        )
        return {
            "AccountLimit": {
                "TotalCodeSize": 80530636800,
                "CodeSizeUnzipped": 262144000,
                "CodeSizeZipped": 52428800,
                "ConcurrentExecutions": self.quota,
                "UnreservedConcurrentExecutions": self.quota - reserved,
            },
            "AccountUsage": {"TotalCodeSize": 0, "FunctionCount": len(names)},
        }

    def reply(self, request: RecordedRequest) -> Reply:
        if request.method == "GET" and request.target.rstrip("/").endswith("/account-settings"):
            return Reply(body=json.dumps(self.settings()).encode())
        headers = {k: v for k, v in request.headers.items() if k not in {"host", "connection"}}
        forwarded = urllib.request.Request(  # noqa: S310 - moto on 127.0.0.1
            self.moto_url + request.target,
            data=request.body or None,
            method=request.method,
            headers=headers,
        )
        try:
            with urllib.request.urlopen(forwarded, timeout=30) as answer:  # noqa: S310
                status, data, got = answer.status, answer.read(), answer.headers.items()
        except urllib.error.HTTPError as error:
            status, data, got = error.code, error.read(), error.headers.items()
        kept = {k.lower(): v for k, v in got if k.lower() not in _HOP_HEADERS}
        return Reply(status=status, body=data, headers=kept)
