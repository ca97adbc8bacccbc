"""The results table as docs/contract.md#data-model describes it, and writing items into it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from itertools import batched
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

__all__ = ["DEFAULT_TABLE_NAME", "create_results_table", "put_items"]

DEFAULT_TABLE_NAME = "query-results"


def create_results_table(client: DynamoDBClient, table_name: str = DEFAULT_TABLE_NAME) -> bool:
    """Create the table (key ``user_id``/``result_id``, ``marketing_id-index``) if it is missing.

    Returns whether it was created.
    """
    if table_name in client.list_tables()["TableNames"]:
        return False
    client.create_table(
        TableName=table_name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "user_id", "AttributeType": "S"},
            {"AttributeName": "result_id", "AttributeType": "S"},
            {"AttributeName": "marketing_id", "AttributeType": "S"},
        ],
        KeySchema=[
            {"AttributeName": "user_id", "KeyType": "HASH"},
            {"AttributeName": "result_id", "KeyType": "RANGE"},
        ],
        GlobalSecondaryIndexes=[
            {
                # Kept but unused (docs/contract.md#data-model); removing it is a later
                # infrastructure change.
                "IndexName": "marketing_id-index",
                "KeySchema": [{"AttributeName": "marketing_id", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    client.get_waiter("table_exists").wait(TableName=table_name)
    return True


def put_items(
    client: DynamoDBClient,
    items: Iterable[Mapping[str, Mapping[str, Any]]],
    table_name: str = DEFAULT_TABLE_NAME,
) -> int:
    """Write typed items in batches of 25, retrying what DynamoDB leaves unprocessed."""
    written = 0
    for batch in batched(items, 25):
        requests: list[Any] = [{"PutRequest": {"Item": dict(item)}} for item in batch]
        while requests:
            response = client.batch_write_item(RequestItems={table_name: requests})
            requests = list(response.get("UnprocessedItems", {}).get(table_name, []))
        written += len(batch)
    return written
