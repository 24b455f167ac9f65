"""The FeatureStore component's settings, which are also the stack file's ``featureStore`` section.

Stack file keys (camelCase, under ``mlops-platform:``)::

    featureStore:
      enabled: false                          # off by default: the shipped stacks have no feature store
      offlinePrefix: feature-store            # key prefix of the offline store in the datasets bucket
      glueCatalog: false                      # let Feature Store create a Glue table per group (offline queries)
      tableFormat: Glue                       # or Iceberg
      groups:
        - name: customers                     # -> feature group <project>-<env>-customers
          recordIdentifier: customer_id
          eventTime: event_time               # a String (ISO-8601) or Fractional (Unix seconds) feature
          online: true                        # also an online store (low-latency GetRecord); default false
          features:
            - {name: customer_id, type: String}
            - {name: event_time, type: Fractional}
            - {name: tenure, type: Integral}

The limits are CreateFeatureGroup's: names of 1-64 characters that start and end with a letter or
digit (features may also use ``_``), at most 2,500 features, three names Feature Store reserves.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from mlops_blueprint.config_base import Section, checked
from mlops_blueprint.validation import s3_key_prefix_problem

# CreateFeatureGroup: FeatureName, RecordIdentifierFeatureName and EventTimeFeatureName.
FEATURE_NAME = r"^[0-9A-Za-z]([-_]*[0-9A-Za-z]){0,63}$"
# Feature Store adds these columns to the offline store itself.
RESERVED_FEATURE_NAMES = ("is_deleted", "write_time", "api_invocation_time")
# The group's own part of the feature group name; the stack prefix (``<project>-<env>-``) comes in
# front, and the whole stays within CreateFeatureGroup's 64 characters for the shipped project name.
GROUP_NAME = r"^[a-z0-9](-?[a-z0-9])*$"
GROUP_NAME_MAX = 40
MAX_FEATURES = 2500
# EventTime must be one of these (ISO-8601 string or fractional Unix seconds).
EVENT_TIME_TYPES = ("String", "Fractional")


def offline_prefix_problem(value: str) -> str | None:
    return s3_key_prefix_problem(value, example="feature-store or teams/ml/features")


def _refuse_repeats(key: str, names: list[str]) -> None:
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"{key}: {', '.join(repeated)} declared more than once")


class FeatureSettings(Section):
    """One feature of a group: a column of the offline table and a field of the online record."""

    name: str = Field(min_length=1, max_length=64, pattern=FEATURE_NAME,
                      description="letters, digits, '-' and '_', starting and ending with a letter or digit")
    type: Literal["Integral", "Fractional", "String"] = Field(description="Integral, Fractional or String")


class FeatureGroupSettings(Section):
    """One feature group: its features, which of them identifies a record and which is its event time."""

    name: str = Field(min_length=1, max_length=GROUP_NAME_MAX, pattern=GROUP_NAME,
                      description="lowercase letters, digits and single hyphens; the group is <project>-<env>-<name>")
    description: str | None = Field(default=None, max_length=128)
    record_identifier: str = Field(description="the feature whose value identifies a record")
    event_time: str = Field(description="the feature holding the record's event time (String or Fractional)")
    online: bool = Field(default=False, description="also keep the latest record per identifier in an online store")
    features: list[FeatureSettings] = Field(min_length=1, max_length=MAX_FEATURES)

    @model_validator(mode="after")
    def _features(self) -> FeatureGroupSettings:
        names = [f.name for f in self.features]
        _refuse_repeats("features", names)
        reserved = sorted(set(names) & set(RESERVED_FEATURE_NAMES))
        if reserved:
            raise ValueError(f"features: {', '.join(reserved)} is reserved by Feature Store "
                             f"({', '.join(RESERVED_FEATURE_NAMES)}); rename it")
        types = {f.name: f.type for f in self.features}
        for key, feature in (("recordIdentifier", self.record_identifier), ("eventTime", self.event_time)):
            if feature not in types:
                raise ValueError(f"{key}: {feature!r} is not one of the group's features ({', '.join(names)})")
        if types[self.event_time] not in EVENT_TIME_TYPES:
            raise ValueError(f"eventTime: feature {self.event_time!r} is {types[self.event_time]}; "
                             f"an event time is {' or '.join(EVENT_TIME_TYPES)}")
        return self


class FeatureStoreSettings(Section):
    """SageMaker Feature Store feature groups, offline store in the datasets bucket (off by default)."""

    enabled: bool = Field(default=False, description="create the feature groups")
    offline_prefix: Annotated[str, checked(offline_prefix_problem)] = Field(
        default="feature-store", description="key prefix of the offline store in the datasets bucket")
    glue_catalog: bool = Field(default=False, description="let Feature Store create a Glue table per group")
    table_format: Literal["Glue", "Iceberg"] = Field(default="Glue", description="offline table format")
    groups: list[FeatureGroupSettings] = Field(default_factory=list, max_length=100)

    @model_validator(mode="after")
    def _groups(self) -> FeatureStoreSettings:
        _refuse_repeats("groups", [g.name for g in self.groups])
        if self.enabled and not self.groups:
            raise ValueError("groups: enabled, but no feature group is declared; add one or set enabled: false")
        return self
