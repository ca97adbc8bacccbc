"""Data: the results table, new or imported by name."""

from __future__ import annotations

from aws_cdk.assertions import Match, Template
from query_infra.data import Data


def synth(bare_stack, config) -> tuple[Template, Data]:
    stack = bare_stack()
    data = Data(stack, "Data", config=config)
    return Template.from_stack(stack), data


def test_new_table_has_the_contract_keys_the_kept_index_and_is_retained(bare_stack, make_config):
    template, _ = synth(bare_stack, make_config())
    template.has_resource(
        "AWS::DynamoDB::Table",
        {
            "DeletionPolicy": "Retain",
            "Properties": Match.object_like(
                {
                    "KeySchema": [
                        {"AttributeName": "user_id", "KeyType": "HASH"},
                        {"AttributeName": "result_id", "KeyType": "RANGE"},
                    ],
                    "GlobalSecondaryIndexes": [
                        Match.object_like({"IndexName": "marketing_id-index"})
                    ],
                    "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
                    "BillingMode": "PAY_PER_REQUEST",
                }
            ),
        },
    )


def test_existing_table_is_imported_and_never_created(bare_stack, make_config):
    template, data = synth(bare_stack, make_config(existing_table_name="query-results"))
    template.resource_count_is("AWS::DynamoDB::Table", 0)
    assert data.table.table_name == "query-results"
    assert [w.name for w in data.watches] == ["DynamoDbThrottles"]


def test_the_token_keys_are_generated_once_and_never_written_by_an_update(bare_stack, make_config):
    """No SecretString in the template: an update of the stack cannot undo a rotation."""
    template, _ = synth(bare_stack, make_config())
    secrets = template.find_resources("AWS::SecretsManager::Secret")
    (secret,) = [v for k, v in secrets.items() if k.startswith("DataTokenKeys")]
    properties = secret["Properties"]
    assert "SecretString" not in properties
    assert properties["GenerateSecretString"] == {
        "SecretStringTemplate": '{"id": "k1"}',
        "GenerateStringKey": "key",
        "PasswordLength": 64,
        "ExcludePunctuation": True,
    }


def test_the_caller_proof_keys_are_generated_once_and_never_in_the_template(
    bare_stack, make_config
):
    """docs/contract.md#caller-proof: {"key": <generated>} at creation, no SecretString."""
    template, _ = synth(bare_stack, make_config())
    secrets = template.find_resources("AWS::SecretsManager::Secret")
    (secret,) = [v for k, v in secrets.items() if k.startswith("DataCallerProofKeys")]
    properties = secret["Properties"]
    assert "SecretString" not in properties
    assert properties["GenerateSecretString"] == {
        "SecretStringTemplate": "{}",
        "GenerateStringKey": "key",
        "PasswordLength": 64,
        "ExcludePunctuation": True,
    }
