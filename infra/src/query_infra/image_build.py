"""The service image, built in AWS CodeBuild during the deploy: no Docker on the operator's
machine (docs/decisions/0014-image-build-in-codebuild.md).

The build context ``nox -s build`` makes (dist/image) is an S3 asset; a privileged CodeBuild
project builds it with Docker and pushes it to the stack's ECR repository under a tag made
of the context's hash; a ``Custom::ImageBuild`` resource (CDK's Provider framework, the
handlers in ``lambdas.image_build``) starts that build and waits for it, so the task
definition names the tag only once the image is there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from aws_cdk import CustomResource, Duration
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import custom_resources as cr
from constructs import Construct

from query_infra import nag
from query_infra.common import log_group
from query_infra.functions import PythonFunction

__all__ = ["BUILD_SPEC", "POLL_INTERVAL", "TOTAL_TIMEOUT", "ImageBuild"]

#: How often the provider asks CodeBuild, and how long it waits in all (CloudFormation's own
#: limit for a custom resource is one hour).
POLL_INTERVAL: Final = Duration.seconds(30)
TOTAL_TIMEOUT: Final = Duration.minutes(50)
#: The build's own limit: a build that hangs fails before the provider gives up.
BUILD_TIMEOUT: Final = Duration.minutes(40)

#: The tag is immutable in the repository: a tag already pushed (a rollback, a retried
#: deploy) is not built again.
BUILD_SPEC: Final = {
    "version": "0.2",
    "env": {"shell": "bash", "variables": {"DOCKER_BUILDKIT": "1"}},
    "phases": {
        "pre_build": {
            "commands": [
                ': "${IMAGE_TAG:?set by the Custom::ImageBuild resource}"',
                ': "${REPOSITORY_URI:?set by the Custom::ImageBuild resource}"',
                'aws ecr get-login-password --region "$AWS_REGION"'
                ' | docker login --username AWS --password-stdin "${REPOSITORY_URI%%/*}"',
            ]
        },
        "build": {
            "commands": [
                'if aws ecr describe-images --repository-name "${REPOSITORY_URI#*/}"'
                ' --image-ids imageTag="$IMAGE_TAG" > /dev/null 2>&1;'
                ' then echo "$REPOSITORY_URI:$IMAGE_TAG is already pushed";'
                ' else docker build --tag "$REPOSITORY_URI:$IMAGE_TAG" .'
                ' && docker push "$REPOSITORY_URI:$IMAGE_TAG"; fi',
            ]
        },
    },
}


class ImageBuild(Construct):
    """Builds ``context`` (a Dockerfile's folder) into ``repository`` during the deploy.

    ``package`` is the Lambda package holding ``lambdas.image_build``. Attributes:
    ``image_tag`` (a token: naming it makes a resource wait for the push), ``project``,
    ``resource`` (the ``Custom::ImageBuild``).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        context: Path,
        repository: ecr.IRepository,
        package: Path,
    ) -> None:
        super().__init__(scope, construct_id)
        source = s3_assets.Asset(self, "Context", path=str(context))
        # The build's grants are exactly these (CDK's defaults for a project, report groups,
        # /aws/codebuild logs and s3:GetObject* on the bucket, are left out).
        role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("codebuild.amazonaws.com"),
            description="The image build: reads its context, pushes to the service's repository",
        )
        logs = log_group(self, "Logs")
        logs.grant_write(role)
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:GetObjectVersion"],
                resources=[source.bucket.arn_for_objects(source.s3_object_key)],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:GetBucketAcl", "s3:GetBucketLocation"],
                resources=[source.bucket.bucket_arn],
            )
        )
        repository.grant_pull_push(role)
        repository.grant(role, "ecr:DescribeImages")
        self.project = codebuild.Project(
            self,
            "Project",
            description="Builds the query service's image (dist/image) and pushes it to ECR",
            role=role.without_policy_updates(),
            source=codebuild.Source.s3(bucket=source.bucket, path=source.s3_object_key),
            environment=codebuild.BuildEnvironment(
                build_image=codebuild.LinuxBuildImage.STANDARD_8_0,
                compute_type=codebuild.ComputeType.SMALL,
                privileged=True,  # Docker in the build
            ),
            build_spec=codebuild.BuildSpec.from_object(BUILD_SPEC),
            timeout=BUILD_TIMEOUT,
            logging=codebuild.LoggingOptions(
                cloud_watch=codebuild.CloudWatchLoggingOptions(log_group=logs)
            ),
        )
        nag.image_build_project(self.project)
        nag.image_build_role(role)

        start = self._handler("Start", package, "on_event", "codebuild:StartBuild")
        poll = self._handler("Poll", package, "is_complete", "codebuild:BatchGetBuilds")
        provider = cr.Provider(
            self,
            "Provider",
            on_event_handler=start,
            is_complete_handler=poll,
            query_interval=POLL_INTERVAL,
            total_timeout=TOTAL_TIMEOUT,
        )
        nag.image_build_provider(provider)
        self.resource = CustomResource(
            self,
            "Image",
            service_token=provider.service_token,
            resource_type="Custom::ImageBuild",
            properties={
                "ProjectName": self.project.project_name,
                "SourceLocation": f"{source.s3_bucket_name}/{source.s3_object_key}",
                "RepositoryUri": repository.repository_uri,
                # The context's hash: a new context is a new tag, an Update, a build.
                "ImageTag": f"ctx-{source.asset_hash[:32]}",
            },
        )
        # No build before its role's grants exist (the project does not wait for them).
        self.resource.node.add_dependency(role)
        self.image_tag = self.resource.get_att_string("ImageTag")

    def _handler(
        self, construct_id: str, package: Path, name: str, action: str
    ) -> lambda_.IFunction:
        function = PythonFunction(
            self,
            construct_id,
            package=package,
            handler=f"lambdas.image_build.handler.{name}",
            memory_size=256,
            timeout=Duration.minutes(1),
            environment={},
            description=f"Custom::ImageBuild {name}: the service image's CodeBuild build",
        )
        function.role.add_to_policy(
            iam.PolicyStatement(actions=[action], resources=[self.project.project_arn])
        )
        return function.function
