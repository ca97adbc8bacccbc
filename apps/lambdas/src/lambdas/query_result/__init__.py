"""The Query Result Lambda: one page of a user's results from DynamoDB (CONTRACT 3)."""
