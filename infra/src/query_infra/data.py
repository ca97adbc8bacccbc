"""The results table: the existing production table imported by name, or a new one."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from query_infra.config import DeploymentConfig
from query_infra.monitoring import Watch

__all__ = ["Data"]


class Data(Construct):
    """Attribute ``table``: imported when ``existingTableName`` is given (the production table
    holds the data and is never recreated), else a table with the contract's keys
    (docs/contract.md#data-model). ``watches``: what Monitoring alarms on."""

    def __init__(self, scope: Construct, construct_id: str, *, config: DeploymentConfig) -> None:
        super().__init__(scope, construct_id)
        self.table: dynamodb.ITable
        if config.existing_table_name:
            self.table = dynamodb.Table.from_table_name(
                self, "ResultsTable", config.existing_table_name
            )
        else:
            self.table = self._new_table()
        self.watches = [
            Watch(
                "DynamoDbThrottles",
                self.table.metric_throttled_requests_for_operations(
                    operations=[dynamodb.Operation.QUERY], period=Duration.minutes(1)
                ),
                1,
                "DynamoDB throttles Query",
            )
        ]

    def _new_table(self) -> dynamodb.Table:
        table = dynamodb.Table(
            self,
            "ResultsTable",
            partition_key=dynamodb.Attribute(name="user_id", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="result_id", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            removal_policy=RemovalPolicy.RETAIN,
        )
        # Kept but unused (docs/contract.md#data-model): removing it is a later change.
        table.add_global_secondary_index(
            index_name="marketing_id-index",
            partition_key=dynamodb.Attribute(
                name="marketing_id", type=dynamodb.AttributeType.STRING
            ),
            projection_type=dynamodb.ProjectionType.ALL,
        )
        return table
