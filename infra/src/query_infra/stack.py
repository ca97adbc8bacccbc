"""``QueryServiceStack``: every AWS resource of the query service after the move to ECS.

client -> external REST API -> Query Lambda (alias "live", CodeDeploy canary)
       -> internal ALB -> ECS Fargate service
       -> private REST API (execute-api VPC endpoint, IAM auth) -> Query Result Lambda
       -> DynamoDB results table
"""

from __future__ import annotations

from typing import Any

from aws_cdk import (
    Acknowledgment,
    CfnOutput,
    Duration,
    RemovalPolicy,
    Stack,
    Token,
    Validations,
)
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from query_infra.config import DeploymentConfig
from query_infra.monitoring import Monitoring

__all__ = ["ACKNOWLEDGED", "CONTAINER_PORT", "QueryServiceStack", "acknowledge"]

CONTAINER_PORT = 8000
STAGE = "prod"
LOG_RETENTION = logs.RetentionDays.ONE_MONTH


#: Every cdk-nag finding this design accepts: (construct path below the stack, rule, reason).
#: Filled by ``acknowledge``; the infra tests print it and the closing notes list it.
ACKNOWLEDGED: list[tuple[str, str, str]] = []


def acknowledge(construct: Construct, rule: str, reason: str, finding: str = "") -> None:
    """A cdk-nag AwsSolutions finding accepted on purpose, with the reason (cdk-nag 3).

    ``finding`` narrows a granular rule to one finding, e.g. ``Resource::*``.
    """
    rule_id = f"{rule}[{finding}]" if finding else rule
    Validations.of(construct).acknowledge(
        Acknowledgment(id=f"AwsSolutions::AwsSolutions-{rule_id}", reason=reason)
    )
    ACKNOWLEDGED.append((construct.node.path, rule_id, reason))


def managed_policy(name: str) -> str:
    """The cdk-nag finding of an AWS managed policy (service-role/...)."""
    return f"Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/{name}"


def stage_options(access_logs: logs.ILogGroup) -> apigw.StageOptions:
    """Stage ``prod`` with JSON access logs, error logging, metrics and X-Ray tracing."""
    return apigw.StageOptions(
        stage_name=STAGE,
        access_log_destination=apigw.LogGroupLogDestination(access_logs),
        access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
            caller=True,
            http_method=True,
            ip=True,
            protocol=True,
            request_time=True,
            resource_path=True,
            response_length=True,
            status=True,
            user=True,
        ),
        logging_level=apigw.MethodLoggingLevel.ERROR,
        metrics_enabled=True,
        tracing_enabled=True,
    )


class QueryServiceStack(Stack):
    """The whole service in one stack; environment-agnostic, facts from the context."""

    def __init__(
        self, scope: Construct, stack_id: str, *, config: DeploymentConfig, **kwargs: Any
    ) -> None:
        super().__init__(scope, stack_id, **kwargs)
        self.config = config
        self.vpc = self._network()
        self.table = self._table()
        self.security_groups = self._security_groups()
        self.query_result_fn = self._query_result_lambda()
        # Made before the private API: its resource policy names it as the only caller.
        self.task_role = iam.Role(
            self,
            "ServiceTaskRole",
            assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
            description="The query service's tasks: may call POST /query/result of the private API",
        )
        self.private_api = self._private_api()
        self.service, self.alb = self._ecs_service()
        self.query_fn, self.live_alias, self.public_api = self._query_lambda()
        Monitoring(self, "Monitoring", stack=self)

    # -- network ---------------------------------------------------------------------------
    def _network(self) -> ec2.IVpc:
        config = self.config
        if config.vpc_id:
            vpc = ec2.Vpc.from_vpc_attributes(
                self,
                "Vpc",
                vpc_id=config.vpc_id,
                availability_zones=list(config.availability_zones),
                private_subnet_ids=list(config.private_subnet_ids),
                private_subnet_route_table_ids=list(config.private_route_table_ids),
            )
        else:
            vpc = ec2.Vpc(
                self,
                "Vpc",
                ip_addresses=ec2.IpAddresses.cidr(config.vpc_cidr),
                max_azs=2,
                nat_gateways=0,
                subnet_configuration=[
                    ec2.SubnetConfiguration(
                        name="private",
                        subnet_type=ec2.SubnetType.PRIVATE_ISOLATED,
                        cidr_mask=22,
                    )
                ],
                flow_logs={
                    "all": ec2.FlowLogOptions(
                        destination=ec2.FlowLogDestination.to_cloud_watch_logs(
                            logs.LogGroup(
                                self,
                                "FlowLogs",
                                retention=LOG_RETENTION,
                                removal_policy=RemovalPolicy.DESTROY,
                            )
                        ),
                        traffic_type=ec2.FlowLogTrafficType.ALL,
                    )
                },
            )
        self.endpoint_sg = ec2.SecurityGroup(
            self,
            "EndpointsSg",
            vpc=vpc,
            allow_all_outbound=False,
            description="Interface VPC endpoints - HTTPS from the ECS tasks only",
        )
        self.subnets = ec2.SubnetSelection(subnets=vpc.private_subnets or vpc.isolated_subnets)
        self.execute_api_endpoint = vpc.add_interface_endpoint(
            "ExecuteApiEndpoint",
            service=ec2.InterfaceVpcEndpointAwsService.APIGATEWAY,
            private_dns_enabled=True,
            security_groups=[self.endpoint_sg],
            subnets=self.subnets,
            open=False,
        )
        # A private VPC has no NAT: the tasks reach ECR, S3 (layers) and CloudWatch Logs here.
        for name, service in (
            ("EcrApi", ec2.InterfaceVpcEndpointAwsService.ECR),
            ("EcrDocker", ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER),
            ("Logs", ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS),
        ):
            vpc.add_interface_endpoint(
                f"{name}Endpoint",
                service=service,
                private_dns_enabled=True,
                security_groups=[self.endpoint_sg],
                subnets=self.subnets,
                open=False,
            )
        vpc.add_gateway_endpoint("S3Endpoint", service=ec2.GatewayVpcEndpointAwsService.S3)
        vpc.add_gateway_endpoint(
            "DynamoDbEndpoint", service=ec2.GatewayVpcEndpointAwsService.DYNAMODB
        )
        return vpc

    def _security_groups(self) -> dict[str, ec2.SecurityGroup]:
        """Query Lambda -> ALB listener -> tasks' port -> execute-api endpoint on 443."""
        vpc = self.vpc
        query_lambda = ec2.SecurityGroup(
            self,
            "QueryLambdaSg",
            vpc=vpc,
            allow_all_outbound=False,
            description="Query Lambda: calls the internal ALB only",
        )
        alb = ec2.SecurityGroup(
            self,
            "AlbSg",
            vpc=vpc,
            allow_all_outbound=False,
            description="Internal ALB: only the Query Lambda may connect",
        )
        # Egress of the tasks stays open inside the VPC (no route leaves it: isolated subnets);
        # they reach ECR, S3 (image layers), Logs and execute-api through VPC endpoints.
        tasks = ec2.SecurityGroup(
            self,
            "TasksSg",
            vpc=vpc,
            allow_all_outbound=True,
            description="ECS tasks: only the ALB may connect",
        )
        query_lambda.add_egress_rule(alb, ec2.Port.tcp(80), "to the internal ALB listener")
        alb.add_ingress_rule(query_lambda, ec2.Port.tcp(80), "from the Query Lambda")
        alb.add_egress_rule(tasks, ec2.Port.tcp(CONTAINER_PORT), "to the tasks")
        tasks.add_ingress_rule(alb, ec2.Port.tcp(CONTAINER_PORT), "from the internal ALB")
        self.endpoint_sg.add_ingress_rule(tasks, ec2.Port.tcp(443), "from the ECS tasks")
        return {"query_lambda": query_lambda, "alb": alb, "tasks": tasks}

    # -- data -------------------------------------------------------------------------------
    def _table(self) -> dynamodb.ITable:
        if self.config.existing_table_name:
            # The production table holds the data: imported, never recreated.
            return dynamodb.Table.from_table_name(
                self, "ResultsTable", self.config.existing_table_name
            )
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
        # Kept but unused (docs/contract.md#data-model): removing it is a later
        # infrastructure change.
        table.add_global_secondary_index(
            index_name="marketing_id-index",
            partition_key=dynamodb.Attribute(
                name="marketing_id", type=dynamodb.AttributeType.STRING
            ),
            projection_type=dynamodb.ProjectionType.ALL,
        )
        return table

    # -- Query Result Lambda and the private API -----------------------------------------------
    def _lambda_role(self, name: str) -> iam.Role:
        role = iam.Role(
            self, f"{name}Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com")
        )
        return role

    def _query_result_lambda(self) -> lambda_.Function:
        log_group = logs.LogGroup(
            self, "QueryResultLogs", retention=LOG_RETENTION, removal_policy=RemovalPolicy.DESTROY
        )
        role = self._lambda_role("QueryResult")
        fn = lambda_.Function(
            self,
            "QueryResultFunction",
            runtime=lambda_.Runtime.PYTHON_3_12,
            architecture=lambda_.Architecture.X86_64,
            handler="lambdas.query_result.handler.handler",
            code=lambda_.Code.from_asset(str(self.config.lambda_package)),
            memory_size=512,
            timeout=Duration.seconds(15),
            role=role,
            log_group=log_group,
            environment={
                "ENVIRONMENT": "production",
                "RESULTS_TABLE_NAME": self.table.table_name,
                "LOG_LEVEL": "INFO",
            },
            description="Query Result Lambda: a page of results, behind the private API",
        )
        log_group.grant_write(role)
        acknowledge(
            fn,
            "L1",
            "Python 3.12 is the project's target runtime (docs/contract.md#overview; the ECS "
            "image matches); moving to a newer runtime is its own change",
        )
        # Only Query on the table itself: no index is queried, so no index/* grant.
        role.add_to_policy(
            iam.PolicyStatement(actions=["dynamodb:Query"], resources=[self.table.table_arn])
        )
        return fn

    def _private_api(self) -> apigw.RestApi:
        access_logs = logs.LogGroup(
            self,
            "PrivateApiAccessLogs",
            retention=LOG_RETENTION,
            removal_policy=RemovalPolicy.DESTROY,
        )
        endpoint_id = self.execute_api_endpoint.vpc_endpoint_id
        api = apigw.RestApi(
            self,
            "PrivateApi",
            rest_api_name=f"query-internal-{self.config.environment}",
            description="Private API of the Query Result Lambda (VPC endpoint only, IAM auth)",
            endpoint_configuration=apigw.EndpointConfiguration(
                types=[apigw.EndpointType.PRIVATE], vpc_endpoints=[self.execute_api_endpoint]
            ),
            policy=iam.PolicyDocument(
                statements=[
                    iam.PolicyStatement(
                        effect=iam.Effect.DENY,
                        principals=[iam.AnyPrincipal()],
                        actions=["execute-api:Invoke"],
                        resources=["execute-api:/*"],
                        conditions={"StringNotEquals": {"aws:SourceVpce": endpoint_id}},
                    ),
                    iam.PolicyStatement(
                        effect=iam.Effect.ALLOW,
                        principals=[iam.ArnPrincipal(self.task_role.role_arn)],
                        actions=["execute-api:Invoke"],
                        resources=[f"execute-api:/{STAGE}/POST/query/result"],
                        conditions={"StringEquals": {"aws:SourceVpce": endpoint_id}},
                    ),
                ]
            ),
            deploy_options=stage_options(access_logs),
            cloud_watch_role=True,
        )
        api.root.add_resource("query").add_resource("result").add_method(
            "POST",
            apigw.LambdaIntegration(self.query_result_fn, proxy=True),
            authorization_type=apigw.AuthorizationType.IAM,
        )
        acknowledge(
            api,
            "APIG2",
            "the Query Result Lambda validates bodies itself and answers "
            "the contract's FastAPI-shaped 400/422; API Gateway's validator would not",
        )
        acknowledge(
            api,
            "APIG3",
            "private API: reachable only through the VPC endpoint named "
            "in its resource policy, and every call is SigV4-signed (IAM auth)",
        )
        acknowledge(
            api,
            "COG4",
            "the caller is a service (the ECS task role): IAM (SigV4) "
            "authorization, not a Cognito user pool",
        )
        acknowledge(
            api,
            "IAM4",
            "API Gateway's account-level CloudWatch role uses AWS's "
            "documented AmazonAPIGatewayPushToCloudWatchLogs policy",
            managed_policy("AmazonAPIGatewayPushToCloudWatchLogs"),
        )
        CfnOutput(
            self,
            "InternalApiUrl",
            value=api.url,
            description="INTERNAL_API_URL of the ECS service (stage included)",
        )
        return api

    # -- ECS ----------------------------------------------------------------------------------
    def _ecs_service(self) -> tuple[ecs.FargateService, elbv2.ApplicationLoadBalancer]:
        config = self.config
        repository = ecr.Repository(
            self,
            "ServiceImages",
            image_scan_on_push=True,
            image_tag_mutability=ecr.TagMutability.IMMUTABLE,
            encryption=ecr.RepositoryEncryption.AES_256,
            lifecycle_rules=[
                ecr.LifecycleRule(max_image_count=30, description="keep the last 30 images")
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )
        cluster = ecs.Cluster(
            self, "Cluster", vpc=self.vpc, container_insights_v2=ecs.ContainerInsights.ENABLED
        )
        task = ecs.FargateTaskDefinition(
            self,
            "TaskDef",
            task_role=self.task_role,
            cpu=config.task_cpu,
            memory_limit_mib=config.task_memory_mib,
            runtime_platform=ecs.RuntimePlatform(
                cpu_architecture=ecs.CpuArchitecture.X86_64,
                operating_system_family=ecs.OperatingSystemFamily.LINUX,
            ),
        )
        image = (
            ecs.ContainerImage.from_ecr_repository(repository, config.image_tag)
            if config.image_tag
            else ecs.ContainerImage.from_asset(str(config.image_context))
        )
        environment = {
            "ENVIRONMENT": "production",
            "INTERNAL_API_URL": self.private_api.url,
            "INTERNAL_API_AUTH": "iam",
            "RESULT_SOURCE": "internal_api",
            "HOST": "0.0.0.0",  # noqa: S104 - inside the task; the ALB is the only way in
            "PORT": str(CONTAINER_PORT),
            "AWS_REGION": self.region,
            "LOG_LEVEL": "INFO",
        }
        if config.enable_lambda_rollback_source:
            environment["QUERY_RESULT_LAMBDA_NAME"] = self.query_result_fn.function_name
        task.add_container(
            "service",
            image=image,
            port_mappings=[ecs.PortMapping(container_port=CONTAINER_PORT)],
            environment=environment,
            logging=ecs.LogDrivers.aws_logs(
                stream_prefix="query-service",
                log_group=logs.LogGroup(
                    self,
                    "ServiceLogs",
                    retention=LOG_RETENTION,
                    removal_policy=RemovalPolicy.DESTROY,
                ),
            ),
            stop_timeout=Duration.seconds(30),
            readonly_root_filesystem=True,
        )
        # The task role may call POST /query/result of this API and nothing else.
        task.task_role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["execute-api:Invoke"],
                resources=[self.private_api.arn_for_execute_api("POST", "/query/result", STAGE)],
            )
        )
        if config.enable_lambda_rollback_source:
            # The rollback source invokes the unqualified function, as invoke_lambda did.
            task.task_role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["lambda:InvokeFunction"],
                    resources=[self.query_result_fn.function_arn],
                )
            )
        acknowledge(
            task,
            "ECS2",
            "the environment holds configuration only (URLs, modes); "
            "the service has no secrets: it authenticates with its task role",
        )
        acknowledge(
            task,
            "IAM5",
            "the execution role's ecr:GetAuthorizationToken only exists "
            "on resource *, as CDK grants it for ECR image pulls",
            "Resource::*",
        )
        service = ecs.FargateService(
            self,
            "Service",
            cluster=cluster,
            task_definition=task,
            desired_count=config.desired_count,
            security_groups=[self.security_groups["tasks"]],
            vpc_subnets=self.subnets,
            circuit_breaker=ecs.DeploymentCircuitBreaker(enable=True, rollback=True),
            min_healthy_percent=100,
            max_healthy_percent=200,
            enable_execute_command=False,
        )
        access_logs = s3.Bucket(
            self,
            "AlbAccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            removal_policy=RemovalPolicy.RETAIN,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(90))],
        )
        acknowledge(
            access_logs,
            "S1",
            "this bucket receives the ALB's access logs; logging "
            "access to the log bucket itself would recurse",
        )
        alb = elbv2.ApplicationLoadBalancer(
            self,
            "InternalAlb",
            vpc=self.vpc,
            internet_facing=False,
            security_group=self.security_groups["alb"],
            vpc_subnets=self.subnets,
            drop_invalid_header_fields=True,
        )
        if Token.is_unresolved(self.region):
            # ELB access logging needs the region (its log-delivery account differs per
            # region): deploy with context region=... to enable it.
            acknowledge(
                alb,
                "ELB2",
                "ALB access logs need the region at synth time; "
                "they are on when the app is synthesized with context region",
            )
        else:
            alb.log_access_logs(access_logs)
        listener = alb.add_listener("Http", port=80, open=False)
        target_group = listener.add_targets(
            "Tasks",
            port=CONTAINER_PORT,
            protocol=elbv2.ApplicationProtocol.HTTP,
            targets=[service],
            health_check=elbv2.HealthCheck(
                path="/health", healthy_http_codes="200", interval=Duration.seconds(15)
            ),
            deregistration_delay=Duration.seconds(20),
        )
        scaling = service.auto_scale_task_count(
            min_capacity=config.desired_count, max_capacity=config.max_count
        )
        scaling.scale_on_cpu_utilization("Cpu", target_utilization_percent=60)
        scaling.scale_on_request_count(
            "Requests", requests_per_target=500, target_group=target_group
        )
        self.target_group = target_group
        self.repository = repository
        return service, alb

    # -- Query Lambda and the external API ------------------------------------------------------
    def _query_lambda(self) -> tuple[lambda_.Function, lambda_.Alias, apigw.RestApi]:
        config = self.config
        url = (
            config.old_eks_handler_url
            if config.traffic_target == "eks"
            else f"http://{self.alb.load_balancer_dns_name}"
        )
        log_group = logs.LogGroup(
            self, "QueryLogs", retention=LOG_RETENTION, removal_policy=RemovalPolicy.DESTROY
        )
        role = self._lambda_role("Query")
        role.add_managed_policy(
            iam.ManagedPolicy.from_aws_managed_policy_name(
                "service-role/AWSLambdaVPCAccessExecutionRole"
            )
        )
        fn = lambda_.Function(
            self,
            "QueryFunction",
            runtime=lambda_.Runtime.PYTHON_3_12,
            architecture=lambda_.Architecture.X86_64,
            handler="lambdas.query.handler.handler",
            code=lambda_.Code.from_asset(str(config.lambda_package)),
            memory_size=256,
            timeout=Duration.seconds(28),
            role=role,
            log_group=log_group,
            vpc=self.vpc,
            vpc_subnets=self.subnets,
            security_groups=[self.security_groups["query_lambda"]],
            environment={
                "ENVIRONMENT": "production",
                "EKS_HANDLER_URL": url,
                "FORWARD_TIMEOUT_SECONDS": "25",
                "LOG_LEVEL": "INFO",
            },
            description=f"Query Lambda: forwards to the query service ({config.traffic_target})",
        )
        log_group.grant_write(role)
        acknowledge(
            role,
            "IAM4",
            "a Lambda in a VPC needs AWSLambdaVPCAccessExecutionRole "
            "to manage its network interfaces",
            managed_policy("AWSLambdaVPCAccessExecutionRole"),
        )
        acknowledge(
            fn,
            "L1",
            "Python 3.12 is the project's target runtime (docs/contract.md#overview); moving "
            "to a newer runtime is its own change",
        )
        alias = lambda_.Alias(self, "QueryLive", alias_name="live", version=fn.current_version)
        public_logs = logs.LogGroup(
            self,
            "PublicApiAccessLogs",
            retention=LOG_RETENTION,
            removal_policy=RemovalPolicy.DESTROY,
        )
        api = apigw.LambdaRestApi(
            self,
            "PublicApi",
            handler=alias,
            proxy=True,
            rest_api_name=f"query-public-{config.environment}",
            description="The query service's public API (Query Lambda, alias live)",
            deploy_options=stage_options(public_logs),
            cloud_watch_role=True,
        )
        CfnOutput(self, "PublicApiUrl", value=api.url, description="The public API")
        reason_unchanged = (
            "the public API keeps its pre-migration contract: for its clients "
            "nothing changes, so no new authorizer"
        )
        acknowledge(api, "APIG4", reason_unchanged)
        acknowledge(api, "COG4", reason_unchanged)
        acknowledge(
            api,
            "APIG2",
            "the service validates bodies and answers the contract's "
            "FastAPI-shaped 400/413/415/422; API Gateway's validator would not",
        )
        acknowledge(
            api,
            "APIG3",
            "a WAF web ACL on the public API is an edge decision of its "
            "own, unchanged by this migration",
        )
        acknowledge(
            api,
            "IAM4",
            "API Gateway's account-level CloudWatch role uses AWS's "
            "documented AmazonAPIGatewayPushToCloudWatchLogs policy",
            managed_policy("AmazonAPIGatewayPushToCloudWatchLogs"),
        )
        self.public_api_logs = public_logs
        return fn, alias, api
