"""RETIRED: the marketing-campaign query, as the EKS-era handler ran it.

Kept as reference code outside every package and artifact (retired/README.md,
docs/contract.md#retired-marketing). Nothing imports this module; every method on
``/query/marketing`` now answers 410. It read the ``marketing_id-index`` GSI, which is kept but unused
until a later infrastructure change removes it (see the data model page).

Do not route to it, and do not "fix" it: it documents what was turned off.
"""

import json

import boto3

TABLE_NAME = "query-results"
dynamodb = boto3.client("dynamodb")


def lambda_handler(event, context):
    body = json.loads(event["body"]) if "body" in event else event
    marketing_id = body["marketing_id"]
    response = dynamodb.query(
        TableName=TABLE_NAME,
        IndexName="marketing_id-index",
        KeyConditionExpression="marketing_id = :m",
        ExpressionAttributeValues={":m": {"S": marketing_id}},
        Limit=int(body.get("limit", 20)),
    )
    items = [
        {
            "result_id": item["result_id"]["S"],
            "user_id": item["user_id"]["S"],
            "marketing_id": item["marketing_id"]["S"],
            "status": item["status"]["S"],
        }
        for item in response["Items"]
    ]
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps({"marketing_id": marketing_id, "items": items, "count": len(items)}),
    }
