"""``mlops-blueprint check --stack ENV``: one table per scanner (passed, failed, suppressed).

Exit 0 when every failure is suppressed (with its reason), 1 on an unsuppressed failure, 2 on bad
input (config, suppressions file) or a scanner that is not installed.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from mlops_blueprint.cli_targets import add_target_options
from mlops_blueprint.config import ConfigError

EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2


def render(report, console: Console) -> None:  # noqa: ANN001 - runner.CheckReport
    counts = report.counts()
    table = Table(title=f"check: {report.stack}", title_justify="left")
    for column in ("scanner", "passed", "failed", "suppressed"):
        table.add_column(column, justify="left" if column == "scanner" else "right")
    for scanner, row in counts.items():
        failed = f"[bold red]{row['failed']}[/]" if row["failed"] else "0"
        table.add_row(scanner, str(row["passed"]), failed, str(row["suppressed"]))
    console.print(table)
    for outcome in report.failures:
        console.print(f"[red]✗[/] {outcome.scanner} {outcome.result.check}: {outcome.result.message}",
                      highlight=False, soft_wrap=True)
    for name, version in report.stated.items():
        console.print(f"[dim]{name}: {version}[/]", highlight=False)


def _check(args: argparse.Namespace) -> int:
    from mlops_blueprint.check.checkov_scan import ScannerMissing
    from mlops_blueprint.check.runner import run_scanners, scanners_for_plan, scanners_for_templates
    from mlops_blueprint.check.suppressions import DEFAULT_FILE, load_suppressions
    from mlops_blueprint.preview import run_preview

    err = Console(stderr=True)
    try:
        suppressions = load_suppressions(Path(args.suppressions) if args.suppressions else DEFAULT_FILE)
        config_file = Path(args.config_file) if args.config_file else None
        if args.program:  # a team's own program; this repository's CI templates are not its own
            from mlops_blueprint.program_preview import preview_program

            result = preview_program(Path(args.program), args.stack, config_file=config_file)
        elif not args.stack:
            from mlops_blueprint.program_preview import STACK_OR_PROGRAM

            raise ConfigError([STACK_OR_PROGRAM])
        else:
            result = run_preview(args.stack, config_file)
        stated: dict[str, str] = {}
        scanners = scanners_for_plan(result.plan, stated)
        if not args.no_templates and not args.program:
            scanners.update(scanners_for_templates())
        report = run_scanners(result.plan["stack"], scanners, suppressions, stated)
    except ConfigError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        return EXIT_INVALID
    except ScannerMissing as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        return EXIT_INVALID
    except ImportError as exc:  # the [check] extra is not installed
        err.print(f"[bold red]error:[/] {exc.name or exc} is not installed: run `make check-tools` "
                  "(pip install -e '.[check]' and checkov in .venv/checkov)", highlight=False, soft_wrap=True)
        return EXIT_INVALID
    except RuntimeError as exc:  # a scanner that ran but did not produce a report
        err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        return EXIT_INVALID
    render(report, Console())
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(report.to_json(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return EXIT_FAILED if report.failures else EXIT_OK


def add_check_command(commands: argparse._SubParsersAction) -> None:  # noqa: SLF001
    check = commands.add_parser("check", help="preflight, policy pack, checkov, cloudsplaining and the CI "
                                              "template scanners over a stack's offline plan")
    add_target_options(check, program_help="check this Pulumi Python program's plan instead of the "
                                           "platform's (without the CI template scanners)")
    check.add_argument("--json", metavar="PATH", help="write every result (and the summary) here")
    check.add_argument("--suppressions", metavar="PATH", help="suppressions file (default policies/suppressions.yaml)")
    check.add_argument("--no-templates", action="store_true", help="skip the CI template scanners (zizmor, schemas)")
    check.set_defaults(handler=_check)
