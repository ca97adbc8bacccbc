"""What the CDK CLI finds or does before a deploy, done in the emulated account: the
bootstrap's version parameter and the file assets of ``cdk.out`` uploaded to its bucket; and
the boto3 clients of that account."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import boto3

from rehearsal.resources import Clients

__all__ = ["bootstrap", "clients"]

#: moto's dummy credentials: it accepts any, and nothing leaves 127.0.0.1.
_DUMMY_KEY = "testing"


def bootstrap(aws: Clients, cdk_out: Path, stack: str, template: dict[str, Any]) -> None:
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
