"""The local stack's shared parts: the DynamoDB emulator, the results table, demo data."""

from query_devstack._demo import DEMO_AP_IDS, DEMO_USERS, demo_items, ulid
from query_devstack._emulator import (
    LOCAL_REGION,
    DynamoDBEmulator,
    EmulatorProcess,
    dynamodb_client,
    free_port,
)
from query_devstack._faults import MisbehavingServer, RecordedRequest, Reply
from query_devstack._gateway import (
    ApiGatewayFront,
    ClientContext,
    LambdaInvokeFront,
    LocalLambdaContext,
)
from query_devstack._table import DEFAULT_TABLE_NAME, create_results_table, put_items

__all__ = [
    "DEFAULT_TABLE_NAME",
    "DEMO_AP_IDS",
    "DEMO_USERS",
    "LOCAL_REGION",
    "ApiGatewayFront",
    "ClientContext",
    "DynamoDBEmulator",
    "EmulatorProcess",
    "LambdaInvokeFront",
    "LocalLambdaContext",
    "MisbehavingServer",
    "RecordedRequest",
    "Reply",
    "create_results_table",
    "demo_items",
    "dynamodb_client",
    "free_port",
    "put_items",
    "ulid",
]
