"""Reading an endpoint's SageMaker data capture for the drift job: capture JSONL lines, a job's
input folder or the S3 hour folders, and writing capture records (the sandbox's requests)."""

from __future__ import annotations

import base64
import csv
import io
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

CAPTURE_PREFIX = "data-capture"


class DriftInputError(ValueError):
    """Unusable input (baseline, captures, arguments); the message names what and why."""


def _rows_of(payload: Any, features: Sequence[str]) -> list[dict[str, Any]]:
    """Rows (feature -> value) of one decoded JSON request body."""
    if isinstance(payload, dict):
        if "dataframe_split" in payload:
            split = payload["dataframe_split"]
            columns = split.get("columns") or list(features)
            return [dict(zip(columns, row)) for row in split.get("data") or []]
        for key in ("dataframe_records", "instances", "inputs"):
            if key in payload:
                return _rows_of(payload[key], features)
        return [payload]
    if isinstance(payload, list):
        rows: list[dict[str, Any]] = []
        for item in payload:
            if isinstance(item, dict):
                rows.append(item)
            elif isinstance(item, list):
                rows.append(dict(zip(features, item)))
            else:  # one flat instance
                return [dict(zip(features, payload))]
        return rows
    return []


def decode_input(endpoint_input: Mapping[str, Any], features: Sequence[str]) -> list[dict[str, Any]]:
    """The feature rows of one capture's ``endpointInput``."""
    data, encoding = endpoint_input.get("data", ""), str(endpoint_input.get("encoding", "")).upper()
    content_type = str(endpoint_input.get("observedContentType", "")).lower()
    text = base64.b64decode(data).decode() if encoding == "BASE64" else str(data)
    if encoding == "JSON" or "json" in content_type:
        return _rows_of(json.loads(text), features)
    if encoding == "CSV" or "csv" in content_type:
        return [dict(zip(features, row)) for row in csv.reader(io.StringIO(text)) if row]
    raise DriftInputError(f"captured input with encoding {encoding!r} and content type {content_type!r} "
                          "is neither JSON nor CSV")


def _inference_time(record: Mapping[str, Any]) -> datetime | None:
    value = (record.get("eventMetadata") or {}).get("inferenceTime")
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc)
    except ValueError:
        return None


@dataclass
class Captured:
    """Feature columns read from captures, and what was skipped."""

    columns: dict[str, list[float]]
    records: int = 0                   # capture records in the period
    skipped: int = 0                   # lines that were not a usable capture record
    files: int = 0

    @property
    def rows(self) -> int:
        return max((len(v) for v in self.columns.values()), default=0)


def read_capture_lines(lines: Iterable[str], features: Sequence[str], start: datetime | None = None,
                       end: datetime | None = None, into: Captured | None = None) -> Captured:
    """Requests in [start, end) (by ``eventMetadata.inferenceTime``) from capture JSONL lines."""
    captured = into or Captured({f: [] for f in features})
    for line in lines:
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            when = _inference_time(record)
            if when is not None and ((start and when < start) or (end and when >= end)):
                continue
            rows = decode_input(record["captureData"]["endpointInput"], features)
        except (ValueError, KeyError, TypeError, DriftInputError):
            captured.skipped += 1
            continue
        captured.records += 1
        for row in rows:
            for feature in features:
                try:
                    value = float(row[feature])
                except (KeyError, TypeError, ValueError):
                    continue
                if math.isfinite(value):
                    captured.columns[feature].append(value)
    return captured


def _hour_folders(start: datetime, end: datetime) -> set[str]:
    hours, moment = set(), start.replace(minute=0, second=0, microsecond=0)
    while moment < end:
        hours.add(f"{moment:%Y/%m/%d/%H}")
        moment += timedelta(hours=1)
    return hours


def read_captures_dir(root: Path, features: Sequence[str], start: datetime | None = None,
                      end: datetime | None = None) -> Captured:
    """Every ``*.jsonl`` under ``root`` (a job's input: the S3 prefix, downloaded)."""
    if not root.is_dir():
        raise DriftInputError(f"captures: {root} is not a directory")
    captured = Captured({f: [] for f in features})
    for path in sorted(root.rglob("*.jsonl")):
        captured.files += 1
        with path.open(encoding="utf-8") as handle:
            read_capture_lines(handle, features, start, end, captured)
    return captured


def read_captures_s3(s3: Any, bucket: str, prefix: str, features: Sequence[str], start: datetime,
                     end: datetime) -> Captured:
    """The ``.jsonl`` objects under ``prefix`` in the hour folders of [start, end)."""
    captured = Captured({f: [] for f in features})
    hours = _hour_folders(start, end)
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix.rstrip("/") + "/"):
        for item in page.get("Contents", []):
            key = item["Key"]
            parts = key.split("/")
            if not key.endswith(".jsonl") or len(parts) < 5 or "/".join(parts[-5:-1]) not in hours:
                continue
            captured.files += 1
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
            read_capture_lines(body.splitlines(), features, start, end, captured)
    return captured


def capture_record(columns: Sequence[str], rows: Sequence[Sequence[Any]], predictions: Sequence[Any],
                   when: datetime, event_id: str) -> str:
    """One capture line, as SageMaker writes it, for a JSON (``dataframe_split``) request."""
    body = json.dumps({"dataframe_split": {"columns": list(columns), "data": [list(r) for r in rows]}})
    return json.dumps({
        "captureData": {
            "endpointInput": {"observedContentType": "application/json", "mode": "INPUT", "data": body,
                              "encoding": "JSON"},
            "endpointOutput": {"observedContentType": "application/json", "mode": "OUTPUT",
                               "data": json.dumps({"predictions": list(predictions)}), "encoding": "JSON"},
        },
        "eventMetadata": {"eventId": event_id, "inferenceTime": when.strftime("%Y-%m-%dT%H:%M:%S.000Z")},
        "eventVersion": "0",
    })


def capture_key(model: str, endpoint: str, variant: str, when: datetime, name: str) -> str:
    """Where SageMaker puts a capture file of ``variant`` written at ``when``."""
    return f"{CAPTURE_PREFIX}/{model}/{endpoint}/{variant}/{when:%Y/%m/%d/%H}/{name}.jsonl"
