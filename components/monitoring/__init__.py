"""Model monitoring: drift jobs per served model, CloudWatch alarms, one dashboard.

Two engines measure drift (``MonitoringSettings.engine``):

- ``processing`` (the default): a scheduled SageMaker Processing job per model running the
  project's drift module, its metrics published through log metric filters
  (:mod:`mlops_blueprint.components.drift_job`). No Model Monitor resource: Model Monitor is
  closed to new customers, so in a new account its schedules would never run.
- ``model-monitor`` (opt-in, for accounts that have it): the Model Monitor resources below.

Both publish ``feature_baseline_drift_<feature>`` to ``aws/sagemaker/Endpoints/data-metrics`` with
the dimensions ``Endpoint`` + ``MonitoringSchedule``, so the drift alarm is the same for both.

Per model with ``model-monitor`` (``MonitoredModel``):

- **Data quality** (when the endpoint captures data): a ``DataQualityJobDefinition`` reading the
  endpoint's capture (``endpoint_input``; SageMaker reads the capture location the endpoint
  configuration names) and comparing it with the baseline at ``baseline_s3_uri``
  (``statistics.json``/``constraints.json``, written by the training pipeline), plus a
  ``MonitoringSchedule``. Jobs run in the private subnets with the workload security group,
  network isolation and inter-container encryption, the data key on the volume and on the
  reports, which land in ``s3://<models bucket>/<prefix>/<model>/data-quality/``.
- **Model quality** (only with ground truth): the same for a ``ModelQualityJobDefinition``, which
  pulumi-aws 7.x does not have: it is created through a one-resource CloudFormation stack
  (``AWS::SageMaker::ModelQualityJobDefinition``, template built as a dict) and scheduled by a
  Pulumi ``MonitoringSchedule``. Reports go to ``.../<model>/model-quality/``.
- **Alarms**, each to the SNS topic its kind is routed to (``alarm_topics``), with OK actions so
  paging integrations resolve: ``Invocation5XXErrors`` and ``ModelLatency`` per variant
  (``AWS/SageMaker``, dimensions ``EndpointName`` + ``VariantName``); invocation drop per endpoint
  (sum of the variants' ``Invocations`` below a threshold, missing data breaching: an endpoint
  that gets no traffic publishes nothing); **drift**: the maximum of the watched features'
  ``feature_baseline_drift_<feature>`` metrics that Model Monitor publishes to
  ``aws/sagemaker/Endpoints/data-metrics`` (dimensions ``Endpoint`` + ``MonitoringSchedule``)
  after each run, above ``drift_threshold``; model quality: a ``model-metrics`` metric past its
  threshold. Drift is read from those published metrics, not from a log metric filter: the
  built-in container publishes them (``publish_cloudwatch_metrics``), a filter would depend on
  log wording. Feature names must be listed because an alarm cannot use ``SEARCH``.

Once per environment: the execution role of the monitoring jobs (read this stack's captures,
baselines and ground truth, write reports, nothing else) and a CloudWatch dashboard (endpoints,
training pipelines, monitoring), its body built as a dict.

Modules, one concern each: ``settings`` (the ``monitoring`` section: every user-settable value, checked
when built), ``args`` (the wiring and the settings), ``checks`` (the wiring's validation), ``s3_uris``,
``role_policy`` (the jobs' IAM policy), ``metrics``, ``dashboard`` (its layout), ``model_monitor``
(image, paths, job names), ``model_quality`` (the CloudFormation template), ``alarms`` and
``component`` (the ``Monitoring`` ComponentResource).
"""

from mlops_blueprint.components.monitoring.args import ALARM_KINDS, COMPONENT, TYPE, MonitoredModel, MonitoringArgs
from mlops_blueprint.components.monitoring.component import Monitoring
from mlops_blueprint.components.monitoring.dashboard import dashboard_body
from mlops_blueprint.components.monitoring.metrics import (
    DATA_METRICS_NAMESPACE, DRIFT_METRIC_PREFIX, ENDPOINT_NAMESPACE, MICROSECONDS_PER_MS, MODEL_METRICS_NAMESPACE,
    PIPELINE_NAMESPACE, drift_metric_name,
)
from mlops_blueprint.components.monitoring.model_monitor import (
    MODEL_MONITOR_ACCOUNTS, MODEL_MONITOR_REPOSITORY, model_monitor_image,
)
from mlops_blueprint.components.monitoring.role_policy import monitoring_role_policy
from mlops_blueprint.components.monitoring.s3_uris import split_s3_uri
from mlops_blueprint.components.monitoring.settings import (
    ENGINES, AlarmThresholds, ModelMonitoringSettings, ModelQuality, MonitoringSettings,
)

__all__ = [
    "ALARM_KINDS", "COMPONENT", "DATA_METRICS_NAMESPACE", "DRIFT_METRIC_PREFIX", "ENDPOINT_NAMESPACE", "ENGINES",
    "MICROSECONDS_PER_MS", "MODEL_METRICS_NAMESPACE", "MODEL_MONITOR_ACCOUNTS", "MODEL_MONITOR_REPOSITORY",
    "PIPELINE_NAMESPACE", "TYPE", "AlarmThresholds", "ModelMonitoringSettings", "ModelQuality", "MonitoredModel",
    "Monitoring", "MonitoringArgs", "MonitoringSettings",
    "dashboard_body", "drift_metric_name", "model_monitor_image", "monitoring_role_policy", "split_s3_uri",
]
