"""Mandatory tags: one definition, applied through the provider's default tags and per resource.

Stack-wide tags (project, environment, owner, cost-center, data-classification) go into the AWS
provider's ``default_tags`` so every taggable resource gets them. The ``component`` tag differs per
resource, so components pass :meth:`Tagging.resource` explicitly. :meth:`Tagging.full` is for the
places default tags do not reach: things AWS creates on our behalf (training jobs started by a
pipeline, instances of a launch template, objects written by a service), where the tags must be
spelled out in the request itself.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

MANDATORY_TAG_KEYS: tuple[str, ...] = (
    "project",
    "environment",
    "component",
    "owner",
    "cost-center",
    "data-classification",
)


@dataclass(frozen=True)
class Tagging:
    """The tag values of one stack."""

    project: str
    environment: str
    owner: str
    cost_center: str
    data_classification: str

    def default_tags(self) -> dict[str, str]:
        """Tags every resource carries, for the provider's ``default_tags``: each field under its
        tag key (``cost_center`` -> ``cost-center``), and ``managed-by``."""
        return {**{f.name.replace("_", "-"): getattr(self, f.name) for f in fields(self)}, "managed-by": "pulumi"}

    def resource(self, component: str, name: str | None = None) -> dict[str, str]:
        """Per-resource tags on top of the default tags: the owning component and a Name."""
        tags = {"component": component}
        if name:
            tags["Name"] = name
        return tags

    def full(self, component: str, name: str | None = None) -> dict[str, str]:
        """Every mandatory tag, for requests that provider default tags do not reach."""
        return {**self.default_tags(), **self.resource(component, name)}
