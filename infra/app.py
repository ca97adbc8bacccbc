"""The CDK app: ``python app.py`` synthesizes into cdk.out/ (no Docker, CLI or credentials needed).

Context (cdk.json, or ``-c key=value`` with the CDK CLI) is read and validated by
``query_infra.context.read_context``; docs/migration.md describes each key. A wrong context
stops here with one line per mistake.
"""

import sys

from aws_cdk import App, Environment, Validations
from cdk_nag import AwsSolutionsChecks
from query_infra.context import ContextError, read_context
from query_infra.stack import QueryServiceStack

app = App()
try:
    config = read_context(app)
except ContextError as exc:
    sys.exit(str(exc))
if config.creates_public_api and config.public_auth == "none":
    print(  # noqa: T201 - the synth output names an unauthenticated public API
        "WARNING: publicAuth=none: the public API lets ANYONE read any user's results",
        file=sys.stderr,
    )
QueryServiceStack(
    app,
    f"QueryService-{config.environment}",
    config=config,
    env=Environment(account=config.account or None, region=config.region or None),
)
Validations.of(app).add_plugins(AwsSolutionsChecks(app))
app.synth()
