"""The VPC (created, or the running account's, imported) and the VPC endpoints it lacks."""

from __future__ import annotations

from aws_cdk import RemovalPolicy, Resource, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import custom_resources as cr
from constructs import Construct

from query_infra import nag
from query_infra.common import log_group
from query_infra.config import DeploymentConfig

__all__ = ["Network"]

_INTERFACES = {
    "ecr.api": ec2.InterfaceVpcEndpointAwsService.ECR,
    "ecr.dkr": ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
    "logs": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
    "lambda": ec2.InterfaceVpcEndpointAwsService.LAMBDA_,
    "secretsmanager": ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
}
_HTTPS = ec2.Port.tcp(443)


class Network(Construct):
    """A private VPC without NAT, or the existing one, touched only where the stack must.

    - execute-api: always the stack's own endpoint (the private API's policy names it), its
      private DNS per ``executeApiPrivateDns`` (off by default in an imported VPC, so that the
      VPC's other calls to API Gateway keep resolving publicly); only the tasks may use it.
    - ECR, Logs, Secrets Manager (and Lambda for the rollback source): created only when the
      VPC lacks them (``existingVpcEndpoints``), with private DNS, open on 443 to
      ``endpointIngressCidrs`` (default: the VPC's CIDR), since every workload of the VPC then
      resolves to them.
    - S3 (image layers): a gateway endpoint unless the VPC has one.

    In an existing VPC the shared endpoints, their security group and the S3 gateway endpoint
    (with its routes) are retained by ``cdk destroy``: other workloads use them by then.

    Attributes: ``vpc``, ``subnets``, ``execute_api_endpoint``, ``s3_prefix_list_id``;
    ``admit(group)`` opens the endpoints to a security group and limits its egress to them.
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: DeploymentConfig) -> None:
        super().__init__(scope, construct_id)
        self.config = config
        #: Endpoint services created here, and those the imported VPC already has.
        self.missing: list[str]
        self.reused: list[str]
        self.vpc = self._vpc(config)
        self.subnets = ec2.SubnetSelection(
            subnets=self.vpc.private_subnets or self.vpc.isolated_subnets
        )
        self.execute_api_security_group = ec2.SecurityGroup(
            self,
            "ExecuteApiEndpointSg",
            vpc=self.vpc,
            allow_all_outbound=False,
            description="execute-api VPC endpoint - HTTPS from the ECS tasks only",
        )
        self.execute_api_endpoint = ec2.InterfaceVpcEndpoint(
            self,
            "ExecuteApiEndpoint",
            vpc=self.vpc,
            service=ec2.InterfaceVpcEndpointAwsService.APIGATEWAY,
            private_dns_enabled=config.execute_api_private_dns,
            security_groups=[self.execute_api_security_group],
            subnets=self.subnets,
            open=False,
        )
        needed = ["ecr.api", "ecr.dkr", "logs", "secretsmanager"]
        if config.enable_lambda_rollback_source:
            needed.append("lambda")
        self.missing = [name for name in needed if name not in config.existing_vpc_endpoints]
        self.reused = [name for name in needed if name in config.existing_vpc_endpoints]
        self.shared_security_group: ec2.SecurityGroup | None = None
        if self.missing:
            shared = ec2.SecurityGroup(
                self,
                "SharedEndpointsSg",
                vpc=self.vpc,
                allow_all_outbound=False,
                description="VPC endpoints for the whole VPC - HTTPS from its CIDRs",
            )
            for cidr in config.ingress_cidrs:
                shared.add_ingress_rule(ec2.Peer.ipv4(cidr), _HTTPS, f"HTTPS from {cidr}")
            self._shared(shared)
            for name in self.missing:
                self._shared(
                    ec2.InterfaceVpcEndpoint(
                        self,
                        f"{name.replace('.', '-')}Endpoint",
                        vpc=self.vpc,
                        service=_INTERFACES[name],
                        private_dns_enabled=True,
                        security_groups=[shared],
                        subnets=self.subnets,
                        open=False,
                    )
                )
            self.shared_security_group = shared
        if "s3" not in config.existing_vpc_endpoints:
            self._shared(
                self.vpc.add_gateway_endpoint(
                    "S3", service=ec2.GatewayVpcEndpointAwsService.S3, subnets=[self.subnets]
                )
            )
        self.s3_prefix_list_id = self._s3_prefix_list()

    def _shared(self, resource: Resource) -> None:
        """What every workload of an existing VPC starts using (private DNS of an endpoint, the
        S3 routes of the gateway endpoint) outlives the stack: ``cdk destroy`` leaves it."""
        if self.config.imported_vpc:
            resource.apply_removal_policy(RemovalPolicy.RETAIN)

    def admit(self, group: ec2.SecurityGroup) -> None:
        """Let ``group`` (no open egress) use the endpoints on 443, and egress only there."""
        self.execute_api_security_group.add_ingress_rule(group, _HTTPS, "from the ECS tasks")
        group.add_egress_rule(self.execute_api_security_group, _HTTPS, "to execute-api")
        if self.shared_security_group is not None:
            group.add_egress_rule(self.shared_security_group, _HTTPS, "to the VPC endpoints")
        if self.reused:  # endpoints the VPC already had: to their groups or prefix lists only
            for peer in self.config.existing_endpoint_peers:
                target = (
                    ec2.Peer.security_group_id(peer)
                    if peer.startswith("sg-")
                    else ec2.Peer.prefix_list(peer)
                )
                group.add_egress_rule(target, _HTTPS, f"to the VPC's own endpoints ({peer})")
        group.add_egress_rule(
            ec2.Peer.prefix_list(self.s3_prefix_list_id), _HTTPS, "to S3 (image layers)"
        )

    def _s3_prefix_list(self) -> str:
        """S3's managed prefix list id, looked up at deploy (CloudFormation does not return it)."""
        region = Stack.of(self).region
        lookup = cr.AwsCustomResource(
            self,
            "S3PrefixList",
            on_update=cr.AwsSdkCall(
                service="EC2",
                action="DescribeManagedPrefixLists",
                parameters={
                    "Filters": [
                        {"Name": "prefix-list-name", "Values": [f"com.amazonaws.{region}.s3"]}
                    ]
                },
                physical_resource_id=cr.PhysicalResourceId.of("s3-prefix-list"),
                output_paths=["PrefixLists.0.PrefixListId"],
            ),
            policy=cr.AwsCustomResourcePolicy.from_sdk_calls(
                resources=cr.AwsCustomResourcePolicy.ANY_RESOURCE
            ),
            install_latest_aws_sdk=False,
        )
        nag.prefix_list_lookup(lookup)
        return lookup.get_response_field("PrefixLists.0.PrefixListId")

    def _vpc(self, config: DeploymentConfig) -> ec2.IVpc:
        if config.vpc_id:
            return ec2.Vpc.from_vpc_attributes(
                self,
                "Vpc",
                vpc_id=config.vpc_id,
                vpc_cidr_block=config.vpc_cidr,
                availability_zones=list(config.availability_zones),
                private_subnet_ids=list(config.private_subnet_ids),
                private_subnet_route_table_ids=list(config.private_route_table_ids),
            )
        return ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(config.vpc_cidr),
            max_azs=2,
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="private", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=22
                )
            ],
            flow_logs={
                "all": ec2.FlowLogOptions(
                    destination=ec2.FlowLogDestination.to_cloud_watch_logs(
                        log_group(self, "FlowLogs")
                    ),
                    traffic_type=ec2.FlowLogTrafficType.ALL,
                )
            },
        )
