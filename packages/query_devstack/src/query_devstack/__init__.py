"""The local stack's shared parts: DynamoDB emulators, the results table, demo data, processes.

The emulators: AWS's DynamoDB Local (of record), moto's server and dynalite. The running
account of the cutover (``accounts/running.toml``), created in moto's server by ``load_account``.
"""

from query_devstack._account import (
    RUNNING_ACCOUNT,
    RunningAccount,
    emulator_client,
    load_account,
)
from query_devstack._demo import DEMO_AP_IDS, DEMO_USERS, demo_items, ulid
from query_devstack._dynamodb_local import (
    DynamoDBLocal,
    dynamodb_local_command,
    dynamodb_local_home,
)
from query_devstack._emulator import (
    LOCAL_REGION,
    DynamoDBEmulator,
    EmulatorProcess,
    dynalite_command,
    dynamodb_client,
    moto_command,
)
from query_devstack._faults import MisbehavingServer, RecordedRequest, Reply
from query_devstack._gateway import (
    ApiGatewayFront,
    ClientContext,
    LambdaInvokeFront,
    LocalLambdaContext,
)
from query_devstack._lambda_front import LambdaAccountFront
from query_devstack._log_filters import FilterPatternError, log_filter_matches
from query_devstack._process import free_port, orphan_safe, port_is_free, wait_listening
from query_devstack._table import DEFAULT_TABLE_NAME, create_results_table, put_items

__all__ = [
    "DEFAULT_TABLE_NAME",
    "DEMO_AP_IDS",
    "DEMO_USERS",
    "LOCAL_REGION",
    "RUNNING_ACCOUNT",
    "ApiGatewayFront",
    "ClientContext",
    "DynamoDBEmulator",
    "DynamoDBLocal",
    "EmulatorProcess",
    "FilterPatternError",
    "LambdaAccountFront",
    "LambdaInvokeFront",
    "LocalLambdaContext",
    "MisbehavingServer",
    "RecordedRequest",
    "Reply",
    "RunningAccount",
    "create_results_table",
    "demo_items",
    "dynalite_command",
    "dynamodb_client",
    "dynamodb_local_command",
    "dynamodb_local_home",
    "emulator_client",
    "free_port",
    "load_account",
    "log_filter_matches",
    "moto_command",
    "orphan_safe",
    "port_is_free",
    "put_items",
    "ulid",
    "wait_listening",
]
