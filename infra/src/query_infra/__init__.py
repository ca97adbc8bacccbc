"""The AWS CDK app of the query service. Runtime code never imports this package."""
