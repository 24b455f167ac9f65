"""mlops-blueprint: offline preview, plan diffs, cost, ML pipelines and the local sandbox.

Exit codes: 0 success, 1 mandatory policy findings, 2 invalid config or input.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from mlops_blueprint.cli_targets import add_target_options
from mlops_blueprint.config import BuildError, ConfigError, add_account_option
from mlops_blueprint.gc_tuning import collect_less_often

EXIT_OK, EXIT_POLICY, EXIT_INVALID = 0, 1, 2


def _preview(args: argparse.Namespace) -> int:
    from mlops_blueprint.plan import dumps, write_plan
    from mlops_blueprint.preview import run_preview
    from mlops_blueprint.report import print_report

    err = Console(stderr=True)
    try:
        from mlops_blueprint.model_registry import RegistrySource

        if args.program:  # a team's own program: same mocks, plan and policy pack
            from mlops_blueprint.program_preview import preview_program

            if args.registry:
                raise ConfigError(["--registry: applies to --stack only (a program resolves its own models)"])
            result = preview_program(Path(args.program), args.stack,
                                     config_file=Path(args.config_file) if args.config_file else None,
                                     policy_config_file=Path(args.policy_config) if args.policy_config else None,
                                     account_id=args.account_id)
        elif not args.stack:
            from mlops_blueprint.program_preview import STACK_OR_PROGRAM

            raise ConfigError([STACK_OR_PROGRAM])
        else:
            result = run_preview(args.stack, Path(args.config_file) if args.config_file else None,
                                 Path(args.policy_config) if args.policy_config else None,
                                 registry=RegistrySource.parse(args.registry), account_id=args.account_id)
    except ConfigError as exc:
        from rich.markup import escape

        # escape: keys such as models[churn] are not console markup
        err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        if isinstance(exc, BuildError):  # the config passed; a component refused what it was given
            err.print("The program stopped part-way; fix the values named above and run the preview again.")
        else:
            err.print("Nothing was registered. Fix the keys above and run the preview again.")
        return EXIT_INVALID
    if args.json:
        write_plan(result.plan, args.json)
    if args.format == "json":
        sys.stdout.write(dumps(result.plan))
    elif args.format == "mermaid":
        from mlops_blueprint.mermaid import render_mermaid

        sys.stdout.write(render_mermaid(result.plan))
        if result.mandatory_findings:
            err.print(f"{len(result.mandatory_findings)} mandatory policy findings (see --format tree)")
    else:
        print_report(result.plan, Console())
        if args.json:
            err.print(f"plan written to {args.json}")
    return EXIT_POLICY if result.mandatory_findings else EXIT_OK


def _diff(args: argparse.Namespace) -> int:
    from mlops_blueprint.diff import PlanFileError, diff_plans, load_plan
    from mlops_blueprint.diff_render import endpoint_notes, render_json, render_markdown, render_text

    try:
        base, head = load_plan(args.base), load_plan(args.head)
    except PlanFileError as exc:
        Console(stderr=True).print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        return EXIT_INVALID
    diff, notes = diff_plans(base, head), endpoint_notes(base, head)
    if args.format == "json":
        sys.stdout.write(render_json(diff, notes))
    elif args.format == "markdown":
        sys.stdout.write(render_markdown(diff, args.base, args.head, notes))
    else:
        sys.stdout.write(render_text(diff, args.base, args.head, notes))
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mlops-blueprint", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    preview = commands.add_parser("preview", help="run the stack's program offline and show what it would create")
    add_target_options(preview, program_help="preview this Pulumi Python program (its Pulumi.yaml, "
                                              "Pulumi.<stack>.yaml and entry point) instead of the platform")
    preview.add_argument("--json", metavar="PATH", help="write the plan JSON here")
    preview.add_argument("--policy-config", metavar="PATH",
                         help="policy config JSON, as for `pulumi preview --policy-pack-config` "
                              '(e.g. {"iam-role-permissions-boundary": {"permissionsBoundaryArn": "arn:..."}})')
    preview.add_argument("--registry", metavar="FILE|URL",
                         help="where models with modelPackageGroup find their package: a JSON file "
                              '({"<family>": [{"status": "Approved", "image": ..., "modelDataUrl": ...}]}, '
                              "loaded into moto in-process; needs the [pipelines] or [dev] extra) or a moto "
                              "endpoint URL (the sandbox's: --registry $AWS_ENDPOINT_URL after sourcing its env.sh). "
                              "Default: a placeholder Approved package (version 1, or the pinned one). Never AWS.")
    add_account_option(preview)
    preview.add_argument("--format", choices=("tree", "json", "mermaid"), default="tree",
                         help="what to print: the resource tree (default), the plan JSON, or the component graph")
    preview.set_defaults(handler=_preview)

    diff = commands.add_parser("diff", help="compare two plan JSON files")
    diff.add_argument("base")
    diff.add_argument("head")
    diff.add_argument("--format", choices=("markdown", "text", "json"), default="text")
    diff.set_defaults(handler=_diff)

    from mlops_blueprint.check.command import add_check_command
    from mlops_blueprint.cost import add_cost_command
    from mlops_blueprint.pipelines.cli import add_commands as add_pipeline_commands

    from mlops_blueprint.pipelines.leftovers import add_leftovers_command
    from mlops_blueprint.pipelines.verify import add_verify_command

    add_cost_command(commands)
    add_check_command(commands)  # scanners load lazily: the [check] extra
    add_verify_command(commands)     # boto3 is imported when the command runs
    add_leftovers_command(commands)
    add_pipeline_commands(commands)  # `pipeline <step>` and `sandbox` (the [pipelines] extra, loaded lazily)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    collect_less_often()
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
