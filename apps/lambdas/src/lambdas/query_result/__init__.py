"""The Query Result Lambda: one page of a user's results from DynamoDB.

See docs/contract.md#internal-api.
"""
