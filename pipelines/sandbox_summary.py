"""The sandbox's summary: what each step produced, the endpoint's configurations, and the plan diff
an approval causes in a stack that declares the model (and, with ``--llm``, the local LLM's answer)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console

if TYPE_CHECKING:
    from mlops_blueprint.pipelines.sandbox import Sandbox
    from mlops_blueprint.pipelines.sandbox_steps import LifecycleResult, LlmResult


def print_summary(console: Console, sandbox: Sandbox, result: LifecycleResult) -> None:
    from rich.table import Table

    ctx = sandbox.ctx
    assert ctx is not None
    metric = sandbox.options.metric
    table = Table(title=f"ML lifecycle in the sandbox — {ctx.registered_model_name} on {ctx.endpoint_name}",
                  show_lines=False)
    table.add_column("step", style="bold")
    table.add_column("result")
    table.add_row("data", f"{result.dataset_v1.uri}\nv1 {result.dataset_v1.version_id} sha256 "
                          f"{result.dataset_v1.sha256[:12]}…")
    table.add_row("train", f"run {result.train.run_id}, {metric} {result.train.metrics[metric]:.4f}\n"
                           f"model artifact: {next((k for k in result.artifact_keys if k.endswith('MLmodel')), '?')}")
    package = "/".join(result.register.model_package_arn.rsplit("/", 2)[-2:])
    table.add_row("register", f"v{result.register.version} (alias {result.register.alias}), model package "
                              f"{package} (PendingManualApproval until deployed)")
    table.add_row("deploy", f"{result.deploy.config_name}: {result.deploy.weights} (package approved)")
    match = "[green]equal[/]" if result.served_predictions == result.direct_predictions else "[red]DIFFERENT[/]"
    table.add_row("predict", f"models:/…/{result.served_version} served locally: {result.served_predictions}; "
                             f"loaded directly: {match}")
    table.add_row("drift", f"dataset v2 {result.dataset_v2.version_id} served and captured "
                           f"({len(result.capture_keys)} capture file(s)); drift run: "
                           f"{len(result.drift_report['violations'])} violation(s): "
                           f"{', '.join(v['feature_name'] for v in result.drift_report['violations'])}\n"
                           f"reports: {result.drift_reports_uri}; alarm: "
                           f"{', '.join(result.alarm_features) or 'OK'}")
    for outcome in result.challengers:
        gate = outcome.gate
        scores = (f"{metric} {gate.challenger_score:.4f} vs champion v{gate.champion_version} "
                  f"{gate.champion_score:.4f}") if gate else ""
        if outcome.promoted:
            text = (f"[green]promoted[/] v{outcome.version}: {scores}\ncanary {outcome.canary.weights} → "
                    f"{outcome.after.weights}") if outcome.canary and outcome.after else f"promoted v{outcome.version}"
        else:
            text = f"[yellow]not promoted[/] v{outcome.version}: {scores}; endpoint stays on " \
                   f"{outcome.after.config_name if outcome.after else '?'}"
        table.add_row(f"retrain ({outcome.kind})", text)
    if result.rollback is not None:
        table.add_row("rollback", f"{result.rollback.from_config} → {result.rollback.to_config}, "
                                  f"champion v{result.rollback.champion_version}")
    if result.llm is not None:
        table.add_row("llm", llm_row(result.llm))
    console.print(table)
    history = Table(title="endpoint configurations")
    for column in ("after", "configuration", "stage", "weights", "champion"):
        history.add_column(column)
    for shot in result.snapshots:
        history.add_row(shot.step, shot.config_name, shot.stage,
                        ", ".join(f"{k} {v:g}" for k, v in shot.weights.items()), f"v{shot.champion}")
    console.print(history)
    if result.rollout_text:
        from rich.markup import escape

        model = sandbox.options.model
        declared = escape(f"models: [{{name: {model}, modelPackageGroup: {model}}}]")
        console.print(f"\n[bold]What an approval does to a stack that declares {model}[/] ({declared}): the deploy "
                      "workflow's `pulumi up`, previewed offline against the sandbox's registry", soft_wrap=True)
        console.print(result.rollout_text, markup=False, highlight=False, soft_wrap=True)
    console.print(f"start-up {sandbox.startup_seconds:.1f} s (dev preview, moto, MLflow server); lifecycle "
                  f"{result.seconds:.1f} s: " + ", ".join(f"{k} {v:.1f}" for k, v in result.timings.items()))


def llm_row(llm: LlmResult) -> str:
    """The ``llm`` row: where the stack's entry takes its weights, how it ran, and what it answered."""
    from rich.markup import escape

    env = ", ".join(f"{k}={v}" for k, v in sorted(llm.container.environment.items()))
    return escape(f"{llm.container.model} (models[].llm, TGI): {len(llm.uploaded)} file(s) staged from "
                  f"{llm.container.weights_s3_uri}, served at {llm.url} with {env}\n"
                  f"/generate {llm.request['inputs']!r} -> {llm.generated_text!r}")
