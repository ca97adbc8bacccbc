"""The VPC (created, or imported from context) and the VPC endpoints the private subnets need."""

from __future__ import annotations

from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from query_infra.common import log_group
from query_infra.config import DeploymentConfig

__all__ = ["Network"]


class Network(Construct):
    """A private VPC without NAT, or the existing one; the execute-api endpoint of the private
    API, and the endpoints the tasks pull images and ship logs through.

    Attributes: ``vpc``, ``subnets`` (the private subnets everything runs in),
    ``execute_api_endpoint`` and ``endpoint_security_group``.
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: DeploymentConfig) -> None:
        super().__init__(scope, construct_id)
        self.vpc = self._vpc(config)
        self.subnets = ec2.SubnetSelection(
            subnets=self.vpc.private_subnets or self.vpc.isolated_subnets
        )
        self.endpoint_security_group = ec2.SecurityGroup(
            self,
            "EndpointsSg",
            vpc=self.vpc,
            allow_all_outbound=False,
            description="Interface VPC endpoints - HTTPS from the ECS tasks only",
        )
        self.execute_api_endpoint = self._interface(
            "ExecuteApi", ec2.InterfaceVpcEndpointAwsService.APIGATEWAY
        )
        # A private VPC has no NAT: the tasks reach ECR, S3 (layers) and CloudWatch Logs here.
        self._interface("EcrApi", ec2.InterfaceVpcEndpointAwsService.ECR)
        self._interface("EcrDocker", ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER)
        self._interface("Logs", ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS)
        self.vpc.add_gateway_endpoint("S3", service=ec2.GatewayVpcEndpointAwsService.S3)
        self.vpc.add_gateway_endpoint("DynamoDb", service=ec2.GatewayVpcEndpointAwsService.DYNAMODB)

    def admit(self, peer: ec2.ISecurityGroup) -> None:
        """Let ``peer`` reach the interface endpoints on 443."""
        self.endpoint_security_group.add_ingress_rule(peer, ec2.Port.tcp(443), "from the ECS tasks")

    def _vpc(self, config: DeploymentConfig) -> ec2.IVpc:
        if config.vpc_id:
            return ec2.Vpc.from_vpc_attributes(
                self,
                "Vpc",
                vpc_id=config.vpc_id,
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

    def _interface(
        self, name: str, service: ec2.InterfaceVpcEndpointAwsService
    ) -> ec2.InterfaceVpcEndpoint:
        return ec2.InterfaceVpcEndpoint(
            self,
            f"{name}Endpoint",
            vpc=self.vpc,
            service=service,
            private_dns_enabled=True,
            security_groups=[self.endpoint_security_group],
            subnets=self.subnets,
            open=False,
        )
