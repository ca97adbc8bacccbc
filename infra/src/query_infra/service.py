"""The query service: ECS Fargate tasks behind an internal Application Load Balancer."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Token
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_route53_targets as targets
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from query_infra import nag
from query_infra.common import CONTAINER_PORT
from query_infra.config import DeploymentConfig
from query_infra.image_build import ImageBuild
from query_infra.internal_api import InternalApi
from query_infra.monitoring import Watch
from query_infra.network import Network
from query_infra.task import ServiceTask

__all__ = ["Service"]


class Service(Construct):
    """The FastAPI service (apps/ecs_service) on Fargate, its image repository, the internal
    ALB in front of it, auto scaling on CPU and requests.

    ``task_role`` is the tasks' identity (the private API admits it). Attributes: ``cluster``,
    ``service``, ``alb``, ``target_group``, ``repository``, ``image_build`` (the image's
    CodeBuild build, or None), ``log_group``, ``url`` (the ALB's base URL), ``watches``;
    ``admit(peer)`` opens the listener to a security group.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeploymentConfig,
        network: Network,
        internal_api: InternalApi,
        task_role: iam.IRole,
        caller_proof_keys: secretsmanager.ISecret,
    ) -> None:
        super().__init__(scope, construct_id)
        vpc = network.vpc
        self.alb_security_group = ec2.SecurityGroup(
            self,
            "AlbSg",
            vpc=vpc,
            allow_all_outbound=False,
            description="Internal ALB: only the Query Lambda may connect",
        )
        # The tasks reach ECR, S3 (image layers), Logs and execute-api through the VPC
        # endpoints, on 443, and nothing else (Network.admit adds exactly those rules).
        self.tasks_security_group = ec2.SecurityGroup(
            self,
            "TasksSg",
            vpc=vpc,
            allow_all_outbound=False,
            description="ECS tasks: only the ALB may connect",
        )
        port = ec2.Port.tcp(CONTAINER_PORT)
        self.alb_security_group.add_egress_rule(self.tasks_security_group, port, "to the tasks")
        self.tasks_security_group.add_ingress_rule(
            self.alb_security_group, port, "from the internal ALB"
        )
        network.admit(self.tasks_security_group)

        self.repository = ecr.Repository(
            self,
            "Images",
            image_scan_on_push=True,
            image_tag_mutability=ecr.TagMutability.IMMUTABLE,
            encryption=ecr.RepositoryEncryption.AES_256,
            lifecycle_rules=[
                ecr.LifecycleRule(max_image_count=30, description="keep the last 30 images")
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.cluster = ecs.Cluster(
            self, "Cluster", vpc=vpc, container_insights_v2=ecs.ContainerInsights.ENABLED
        )
        self.task = ServiceTask(
            self,
            "Task",
            config=config,
            internal_api=internal_api,
            task_role=task_role,
            image=self._image(config),
            caller_proof_keys=caller_proof_keys,
        )
        self.log_group = self.task.log_group
        self.service = ecs.FargateService(
            self,
            "Service",
            cluster=self.cluster,
            task_definition=self.task.definition,
            desired_count=config.desired_count,
            security_groups=[self.tasks_security_group],
            vpc_subnets=network.subnets,
            circuit_breaker=ecs.DeploymentCircuitBreaker(enable=True, rollback=True),
            min_healthy_percent=100,
            max_healthy_percent=200,
            enable_execute_command=False,
        )
        self.alb = elbv2.ApplicationLoadBalancer(
            self,
            "InternalAlb",
            vpc=vpc,
            internet_facing=False,
            security_group=self.alb_security_group,
            vpc_subnets=network.subnets,
            drop_invalid_header_fields=True,
        )
        self._access_logs()
        listener = self._listener(config)
        self.target_group = listener.add_targets(
            "Tasks",
            port=CONTAINER_PORT,
            protocol=elbv2.ApplicationProtocol.HTTP,
            targets=[self.service],
            health_check=elbv2.HealthCheck(
                path="/health", healthy_http_codes="200", interval=Duration.seconds(15)
            ),
            deregistration_delay=Duration.seconds(20),
        )
        scaling = self.service.auto_scale_task_count(
            min_capacity=config.desired_count, max_capacity=config.max_count
        )
        scaling.scale_on_cpu_utilization("Cpu", target_utilization_percent=60)
        scaling.scale_on_request_count(
            "Requests", requests_per_target=500, target_group=self.target_group
        )
        self.url = f"http://{self.alb.load_balancer_dns_name}"
        if config.alb_certificate_arn:
            self.url = f"https://{self._host_name(config)}"
        self.watches = self._watches()

    def _image(self, config: DeploymentConfig) -> ecs.ContainerImage:
        """``imageTag`` (already pushed) if given; else the image of dist/image, built by
        CodeBuild during the deploy (``imageBuild=codebuild``, attribute ``image_build``)
        or by the CDK CLI with local Docker (``local-docker``)."""
        self.image_build: ImageBuild | None = None
        if config.image_tag:
            return ecs.ContainerImage.from_ecr_repository(self.repository, config.image_tag)
        if config.image_build == "local-docker":
            return ecs.ContainerImage.from_asset(str(config.image_context))
        self.image_build = ImageBuild(
            self,
            "ImageBuild",
            context=config.image_context,
            repository=self.repository,
            package=config.lambda_package,
        )
        return ecs.ContainerImage.from_ecr_repository(self.repository, self.image_build.image_tag)

    def admit(self, peer: ec2.SecurityGroup) -> None:
        """Let ``peer`` (a security group without open egress) call the listener."""
        port = ec2.Port.tcp(self.listener_port)
        peer.add_egress_rule(self.alb_security_group, port, "to the internal ALB listener")
        self.alb_security_group.add_ingress_rule(peer, port, "from the Query Lambda")

    def _listener(self, config: DeploymentConfig) -> elbv2.ApplicationListener:
        """HTTPS on 443 with ``albCertificateArn``; else HTTP on 80, inside the VPC only."""
        if config.alb_certificate_arn:
            self.listener_port = 443
            return self.alb.add_listener(
                "Https",
                port=443,
                protocol=elbv2.ApplicationProtocol.HTTPS,
                certificates=[elbv2.ListenerCertificate.from_arn(config.alb_certificate_arn)],
                ssl_policy=elbv2.SslPolicy.RECOMMENDED_TLS,
                open=False,
            )
        self.listener_port = 80
        return self.alb.add_listener("Http", port=80, open=False)

    def _host_name(self, config: DeploymentConfig) -> str:
        """``albHostName`` as an alias of the ALB in the VPC's private zone (the certificate
        covers that name, not the ALB's own)."""
        zone = route53.HostedZone.from_hosted_zone_id(self, "Zone", config.alb_hosted_zone_id)
        route53.ARecord(
            self,
            "AlbName",
            zone=zone,
            record_name=f"{config.alb_host_name}.",
            target=route53.RecordTarget.from_alias(targets.LoadBalancerTarget(self.alb)),
        )
        return config.alb_host_name

    def _access_logs(self) -> None:
        """ALB access logs in a private bucket, when the region is known at synth time."""
        if Token.is_unresolved(self.alb.stack.region):
            # ELB access logging needs the region (its log-delivery account differs per
            # region): deploy with context region=... to enable it.
            nag.alb_without_access_logs(self.alb)
            return
        bucket = s3.Bucket(
            self,
            "AlbAccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            removal_policy=RemovalPolicy.RETAIN,
            versioned=True,  # a log line, once written, cannot be silently replaced
            lifecycle_rules=[
                s3.LifecycleRule(
                    expiration=Duration.days(90),
                    noncurrent_version_expiration=Duration.days(90),
                )
            ],
        )
        nag.access_log_bucket(bucket)
        self.alb.log_access_logs(bucket)

    def _watches(self) -> list[Watch]:
        minute, five = Duration.minutes(1), Duration.minutes(5)
        target, elb = self.target_group.metrics, self.alb.metrics
        return [
            Watch(
                "AlbTarget5xx",
                target.http_code_target(code=elbv2.HttpCodeTarget.TARGET_5XX_COUNT, period=minute),
                10,
                "service answers 5xx",
            ),
            Watch(
                "AlbTargetP99",
                target.target_response_time(statistic="p99", period=minute),
                5,
                "service p99 latency >= 5 s",
                3,
            ),
            Watch(
                "Alb5xx",
                elb.http_code_elb(code=elbv2.HttpCodeElb.ELB_5XX_COUNT, period=minute),
                10,
                "the ALB itself answers 5xx",
            ),
            Watch(
                "EcsCpu",
                self.service.metric_cpu_utilization(period=five),
                85,
                "service CPU >= 85 %",
                2,
            ),
            Watch(
                "EcsMemory",
                self.service.metric_memory_utilization(period=five),
                85,
                "service memory >= 85 %",
                2,
            ),
        ]
