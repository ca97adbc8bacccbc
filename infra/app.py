"""The CDK app: ``python app.py`` synthesizes into cdk.out/ (no Docker, CLI or credentials needed).

Context (cdk.json, or ``-c key=value`` with the CDK CLI) is read by
``query_infra.config.DeploymentConfig``; see docs/migration.md for each key.
"""

from aws_cdk import App, Environment, Validations
from cdk_nag import AwsSolutionsChecks
from query_infra.config import DeploymentConfig
from query_infra.stack import QueryServiceStack

app = App()
config = DeploymentConfig.from_context(app)
QueryServiceStack(
    app,
    f"QueryService-{config.environment}",
    config=config,
    env=Environment(account=config.account or None, region=config.region or None),
)
Validations.of(app).add_plugins(AwsSolutionsChecks(app))
app.synth()
