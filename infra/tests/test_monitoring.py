"""Monitoring: an alarm per watch it is given, one dashboard with every alarm."""

from __future__ import annotations

from aws_cdk import aws_cloudwatch as cw
from aws_cdk.assertions import Template
from query_infra.monitoring import Monitoring, Watch, alarm


def test_an_alarm_per_watch_and_one_dashboard_with_the_others_too(bare_stack):
    stack = bare_stack()
    metric = cw.Metric(namespace="Test", metric_name="Errors")
    other = alarm(stack, Watch("Elsewhere", metric, 1, "made by another construct"))
    monitoring = Monitoring(
        stack,
        "Monitoring",
        dashboard_name="query-service-test",
        watches=[Watch("Busy", metric, 85, "busy >= 85", periods=3)],
        also=[other],
    )
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "MetricName": "Errors",
            "Namespace": "Test",
            "Threshold": 85,
            "EvaluationPeriods": 3,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "TreatMissingData": "notBreaching",
            "AlarmDescription": "busy >= 85",
        },
    )
    template.resource_count_is("AWS::CloudWatch::Alarm", 2)
    template.has_resource_properties(
        "AWS::CloudWatch::Dashboard", {"DashboardName": "query-service-test"}
    )
    assert set(monitoring.alarms) == {"Busy", "Elsewhere"}
    body = str(template.find_resources("AWS::CloudWatch::Dashboard"))
    for logical_id in template.find_resources("AWS::CloudWatch::Alarm"):
        assert logical_id in body  # the status widget shows every alarm
