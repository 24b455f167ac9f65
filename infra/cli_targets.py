"""The options that say what a command previews: a stack of the platform, or a team's own program."""

from __future__ import annotations

import argparse

STACK_HELP = ("stack name: dev, staging or prod; with --program, one of the program's stacks "
              "(default: its only Pulumi.<stack>.yaml)")
CONFIG_FILE_HELP = "a stack file to use instead of stacks/Pulumi.<stack>.yaml (DIR/Pulumi.<stack>.yaml with --program)"


def add_target_options(parser: argparse.ArgumentParser, *, program_help: str,
                       program_group: argparse._ActionsContainer | None = None) -> None:  # noqa: SLF001
    """``--stack``, ``--program DIR`` (in ``program_group`` when it excludes other sources) and ``--config-file``."""
    parser.add_argument("--stack", help=STACK_HELP)
    (program_group or parser).add_argument("--program", metavar="DIR", help=program_help)
    parser.add_argument("--config-file", help=CONFIG_FILE_HELP)
