"""Stack-level checks of the ``tracking`` section: the ones that need other sections.

The section itself (fields, limits, per-environment defaults) is the component's settings,
:class:`~mlops_blueprint.components.tracking_server_settings.TrackingServerSettings`.
"""

from __future__ import annotations

from mlops_blueprint.components.tracking_server_settings import TrackingServerSettings


def tracking_problems(tracking: TrackingServerSettings, has_kubernetes_cluster: bool, *,
                      environment: str | None = None) -> list[str]:
    """Checks that need more than the tracking section; one line per problem, naming the keys.

    ``has_kubernetes_cluster``: the platform's ``kubernetes`` section is set. ``environment``:
    when given, prod's rules for the self-hosted database apply.
    """
    if tracking.backend != "kubernetes":
        return []
    problems: list[str] = []
    if not has_kubernetes_cluster:
        problems.append("tracking.backend is 'kubernetes' but the kubernetes section (kubeconfig/context, "
                        "oidcProviderArn, nodeSecurityGroupId) is not set; add it or pick a sagemaker-* backend")
    database = tracking.kubernetes.database
    if environment == "prod":
        if not database.deletion_protection:
            problems.append("tracking.kubernetes.database.deletionProtection must be true in prod")
        if database.skip_final_snapshot:
            problems.append("tracking.kubernetes.database.skipFinalSnapshot must be false in prod")
        if not database.multi_az:
            problems.append("tracking.kubernetes.database.multiAz must be true in prod")
    return problems
