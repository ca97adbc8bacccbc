"""Lambda's ``GetAccountSettings`` in front of moto's server, which does not implement it.

A real HTTP server on 127.0.0.1 answers ``GET /2016-08-19/account-settings/`` as Lambda does
(the account's concurrency quota, less what its functions reserve, as moto holds them) and
forwards every other request to moto unchanged. Point Lambda's clients at ``url`` (boto3:
``AWS_ENDPOINT_URL_LAMBDA``, or the whole session's ``endpoint_url``).
"""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import urlsplit

import boto3

from query_devstack._emulator import _LOCAL_KEY
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
        lam = _lambda_client(self.moto_url, self._region)
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
        moto = urlsplit(self.moto_url)
        connection = http.client.HTTPConnection(moto.hostname or "127.0.0.1", moto.port, timeout=30)
        try:
            connection.request(request.method, request.target, request.body or None, headers)
            answer = connection.getresponse()
            status, data, got = answer.status, answer.read(), answer.getheaders()
        finally:
            connection.close()
        kept = {k.lower(): v for k, v in got if k.lower() not in _HOP_HEADERS}
        return Reply(status=status, body=data, headers=kept)


def _lambda_client(endpoint_url: str, region: str) -> Any:
    """A Lambda client of moto's server, with the emulator's dummy credentials."""
    make: Any = boto3.client
    return make(
        "lambda",
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id=_LOCAL_KEY,
        aws_secret_access_key=_LOCAL_KEY,
    )
