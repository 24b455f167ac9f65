"""Suppressions: one reviewed file, every entry with its reason (``policies/suppressions.yaml``)."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path

import yaml

from mlops_blueprint import policies
from mlops_blueprint.config import ConfigError

SCANNERS = ("preflight", "policy-pack", "checkov", "cloudsplaining", "zizmor", "jsonschema")
# Shipped with the policy pack (package data), so an installed package finds it as a checkout does.
DEFAULT_FILE = Path(policies.__file__).resolve().parent / "suppressions.yaml"


@dataclass(frozen=True)
class Suppression:
    scanner: str
    check: str  # the check id (glob)
    subject: str  # the resource address, role, template... (glob)
    reason: str
    stacks: tuple[str, ...] = ("*",)

    def matches(self, scanner: str, check: str, subject: str, stack: str) -> bool:
        return (scanner == self.scanner and fnmatch.fnmatchcase(check, self.check)
                and fnmatch.fnmatchcase(subject, self.subject)
                and any(fnmatch.fnmatchcase(stack, s) for s in self.stacks))


def load_suppressions(path: Path = DEFAULT_FILE) -> list[Suppression]:
    """The file's entries; a malformed one raises :class:`ConfigError` naming it (exit 2)."""
    if not path.is_file():
        raise ConfigError([f"{path}: no such suppressions file"])
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError([f"{path}: not valid YAML ({exc})"]) from None
    entries = document.get("suppressions") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise ConfigError([f"{path}: expected a top-level 'suppressions:' list"])
    problems, found = [], []
    for i, entry in enumerate(entries):
        where = f"{path.name}: suppressions[{i}]"
        if not isinstance(entry, dict):
            problems.append(f"{where}: expected a mapping with scanner, check, subject and reason")
            continue
        unknown = set(entry) - {"scanner", "check", "subject", "reason", "stacks"}
        if unknown:
            problems.append(f"{where}: unknown keys {sorted(unknown)} (valid: scanner, check, subject, reason, stacks)")
        if entry.get("scanner") not in SCANNERS:
            problems.append(f"{where}.scanner: {entry.get('scanner')!r} is not one of {', '.join(SCANNERS)}")
        for key in ("check", "reason"):
            if not isinstance(entry.get(key), str) or not entry[key].strip():
                problems.append(f"{where}.{key}: required, a non-empty string"
                                + (" (say why this finding is accepted)" if key == "reason" else ""))
        stacks = entry.get("stacks", ["*"])
        if not isinstance(stacks, list) or not all(isinstance(s, str) for s in stacks):
            problems.append(f"{where}.stacks: expected a list of stack names (globs)")
        if not problems:
            found.append(Suppression(entry["scanner"], entry["check"], str(entry.get("subject", "*")),
                                     entry["reason"].strip(), tuple(stacks)))
    if problems:
        raise ConfigError(problems)
    return found
