"""The alarms of one model, each to the SNS topic its kind is routed to, with OK actions so paging
integrations resolve: 5xx and latency per variant, invocation drop per endpoint, drift, model quality."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws

from mlops_blueprint.components.monitoring.args import COMPONENT, MonitoredModel, MonitoringArgs
from mlops_blueprint.components.monitoring.metrics import (
    DATA_METRICS_NAMESPACE, ENDPOINT_NAMESPACE, MICROSECONDS_PER_MS, MODEL_METRICS_NAMESPACE, drift_metric_name,
)
from mlops_blueprint.components.monitoring.settings import ModelQuality


class Alarms:
    """Registers the alarms of a ``Monitoring`` component as its children (``opts``)."""

    def __init__(self, prefix: str, args: MonitoringArgs, period: int, opts: pulumi.ResourceOptions) -> None:
        self._prefix = prefix
        self._args = args
        self._ctx = args.context
        self._period = period  # one monitoring run's period
        self._opts = opts

    def alarm(self, model: MonitoredModel, suffix: str, kind: str, description: str,
              **settings: Any) -> aws.cloudwatch.MetricAlarm:
        ctx = self._ctx
        alarm_name = ctx.naming.name(model.name, suffix)
        topic = self._args.alarm_topics[kind]
        return aws.cloudwatch.MetricAlarm(
            f"{self._prefix}-{model.name}-{suffix}",
            name=alarm_name,
            alarm_description=f"{ctx.naming.prefix} {description}",
            alarm_actions=[topic],
            ok_actions=[topic],  # paging integrations resolve the incident on OK
            actions_enabled=True,
            tags=ctx.tagging.resource(COMPONENT, alarm_name),
            opts=self._opts,
            **settings,
        )

    def endpoint(self, model: MonitoredModel) -> list[pulumi.Output[str]]:
        """5xx and latency per variant, and the invocation drop when a minimum is set: their ARNs."""
        thresholds = self._args.settings.alarms
        common = {"period": thresholds.period_seconds, "evaluation_periods": thresholds.evaluation_periods,
                  "namespace": ENDPOINT_NAMESPACE}
        arns: list[pulumi.Output[str]] = []
        for variant in model.variant_names:
            dimensions = {"EndpointName": model.endpoint_name, "VariantName": variant}
            errors = self.alarm(
                model, f"{variant}-5xx", "errors",
                f"{model.name}/{variant}: >= {thresholds.errors_5xx} 5xx responses per {thresholds.period_seconds}s",
                metric_name="Invocation5XXErrors", dimensions=dimensions, statistic="Sum",
                comparison_operator="GreaterThanOrEqualToThreshold", threshold=thresholds.errors_5xx,
                treat_missing_data="notBreaching", **common,
            )
            statistic = ({"statistic": "Average"} if thresholds.latency_statistic == "Average"
                         else {"extended_statistic": thresholds.latency_statistic})
            latency = self.alarm(
                model, f"{variant}-latency", "latency",
                f"{model.name}/{variant}: model latency {thresholds.latency_statistic} > {thresholds.latency_ms} ms",
                metric_name="ModelLatency", dimensions=dimensions, **statistic,
                comparison_operator="GreaterThanThreshold", threshold=thresholds.latency_ms * MICROSECONDS_PER_MS,
                treat_missing_data="notBreaching", **common,
            )
            arns += [errors.arn, latency.arn]
        minimum = self._args.settings.min_invocations(model.name)
        if minimum is not None:
            arns.append(self.invocation_drop(model, minimum).arn)
        return arns

    def invocation_drop(self, model: MonitoredModel, minimum: int) -> aws.cloudwatch.MetricAlarm:
        """The endpoint's invocations (all variants) below ``minimum`` per period. No traffic means
        no data points at all, so missing data is breaching."""
        thresholds = self._args.settings.alarms
        queries = [
            {"id": f"v{i}", "return_data": len(model.variant_names) == 1, "metric": {
                "namespace": ENDPOINT_NAMESPACE, "metric_name": "Invocations", "stat": "Sum",
                "period": thresholds.period_seconds,
                "dimensions": {"EndpointName": model.endpoint_name, "VariantName": variant}}}
            for i, variant in enumerate(model.variant_names)
        ]
        return self.alarm(
            model, "invocations", "invocations",
            f"{model.name}: fewer than {minimum} invocations per {thresholds.period_seconds}s (traffic dropped)",
            metric_queries=_returning_one(queries, "invocations", "invocations (all variants)", "SUM"), comparison_operator="LessThanThreshold", threshold=minimum,
            evaluation_periods=thresholds.evaluation_periods, treat_missing_data="breaching",
        )

    def drift(self, model: MonitoredModel, schedule_name: str) -> aws.cloudwatch.MetricAlarm:
        """The largest baseline drift of the watched features, per monitoring run."""
        threshold = self._args.settings.alarms.drift_threshold
        features = list(self._args.model_settings(model).drift_features)
        queries = [
            {"id": f"f{i}", "label": feature, "return_data": len(features) == 1, "metric": {
                "namespace": DATA_METRICS_NAMESPACE, "metric_name": drift_metric_name(feature), "stat": "Maximum",
                "period": self._period,
                "dimensions": {"Endpoint": model.endpoint_name, "MonitoringSchedule": schedule_name}}}
            for i, feature in enumerate(features)
        ]
        return self.alarm(
            model, "drift", "drift",
            f"{model.name}: feature baseline drift > {threshold:g} ({', '.join(features)})",
            metric_queries=_returning_one(queries, "drift", "max feature baseline drift", "MAX"), comparison_operator="GreaterThanThreshold", threshold=threshold,
            evaluation_periods=1,
            # No run in the period (schedule not due yet, job failed) is not drift.
            treat_missing_data="notBreaching",
        )

    def model_quality(self, model: MonitoredModel, quality: ModelQuality, schedule_name: str) -> aws.cloudwatch.MetricAlarm:
        """A ``model-metrics`` metric past its threshold after a model-quality run."""
        return self.alarm(
            model, "quality", "modelQuality",
            f"{model.name}: {quality.metric} {'below' if quality.higher_is_better else 'above'} {quality.threshold:g}",
            namespace=MODEL_METRICS_NAMESPACE, metric_name=quality.metric,
            dimensions={"Endpoint": model.endpoint_name, "MonitoringSchedule": schedule_name},
            statistic="Minimum" if quality.higher_is_better else "Maximum",
            comparison_operator="LessThanThreshold" if quality.higher_is_better else "GreaterThanThreshold",
            threshold=quality.threshold, period=self._period, evaluation_periods=1,
            treat_missing_data="notBreaching",
        )


def _returning_one(queries: list[dict[str, Any]], query_id: str, label: str, function: str) -> list[dict[str, Any]]:
    """An alarm takes one returned series: the only query's (it returns data), or ``function`` over all."""
    if len(queries) > 1:
        queries.append({"id": query_id, "label": label, "return_data": True,
                        "expression": f"{function}([{', '.join(q['id'] for q in queries)}])"})
    return queries
