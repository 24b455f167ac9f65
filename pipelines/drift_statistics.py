"""The drift statistics: the training baseline's per-feature summary, and per feature the KS
distance (the drift verdict), Jensen-Shannon distance and PSI of captured requests against it,
with the CloudWatch data of a run. numpy and scipy only."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

from mlops_blueprint.pipelines.drift_captures import Captured, DriftInputError

DEFAULT_THRESHOLD = 0.1          # KS distance: Model Monitor's default baseline-drift threshold
DEFAULT_MIN_RECORDS = 100        # fewer captured requests: no verdict, no metric
BASELINE_SAMPLE = 5000           # values kept per feature in the baseline
NAMESPACE = "aws/sagemaker/Endpoints/data-metrics"
FEATURE_METRIC_PREFIX = "feature_baseline_drift_"
MAX_METRIC = "baseline_drift_max"
_BINS = 10                       # decile bins for JS and PSI
_EPSILON = 1e-4                  # floor of a bin's share in PSI (an empty bin would make it infinite)
_SEED = 17


def baseline_statistics(columns: Mapping[str, Sequence[float]], *, source: str = "",
                        sample: int = BASELINE_SAMPLE) -> dict[str, Any]:
    """The baseline document of ``columns`` (feature -> training values)."""
    import numpy as np

    if not columns:
        raise DriftInputError("baseline: no features given")
    rng = np.random.default_rng(_SEED)
    features: dict[str, Any] = {}
    for name, values in columns.items():
        array = np.asarray(values, dtype=float)
        array = array[np.isfinite(array)]
        if array.size < 2:
            raise DriftInputError(f"baseline: feature {name!r} has {array.size} numeric value(s); need at least 2")
        kept = array if array.size <= sample else rng.choice(array, size=sample, replace=False)
        features[name] = {
            "count": int(array.size), "mean": float(array.mean()), "std": float(array.std()),
            "min": float(array.min()), "max": float(array.max()),
            "bin_edges": [float(e) for e in np.unique(np.quantile(array, np.linspace(0, 1, _BINS + 1)))],
            "sample": [float(v) for v in np.sort(kept)],
        }
    return {"version": 1, "source": source, "created": utc_now().strftime("%Y-%m-%dT%H:%M:%SZ"),
            "features": features}


def parse_baseline(document: Any, source: str) -> dict[str, Any]:
    features = document.get("features") if isinstance(document, dict) else None
    if not isinstance(features, dict) or not features:
        raise DriftInputError(f"{source}: a drift baseline needs a non-empty 'features' object "
                              f"(write one with `mlops-blueprint pipeline baseline`)")
    for name, stats in features.items():
        if not isinstance(stats, dict) or not isinstance(stats.get("sample"), list) or len(stats["sample"]) < 2 \
                or not isinstance(stats.get("bin_edges"), list) or len(stats["bin_edges"]) < 2:
            raise DriftInputError(f"{source}: features.{name} needs 'sample' (>= 2 values) and 'bin_edges' (>= 2)")
    return document


def iter_features(frame: Any, features: Iterable[str]) -> Iterator[tuple[str, list[float]]]:
    """(feature, values) of a DataFrame's columns, for :func:`baseline_statistics`."""
    for feature in features:
        yield feature, [float(v) for v in frame[feature]]


@dataclass(frozen=True)
class FeatureDrift:
    feature: str
    ks: float | None                   # None: no captured values
    p_value: float | None
    js: float | None
    psi: float | None
    baseline_count: int
    current_count: int
    drifted: bool


@dataclass
class DriftResult:
    threshold: float
    features: list[FeatureDrift]
    records: int
    min_records: int
    start: str | None = None
    end: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def sufficient(self) -> bool:
        return self.records >= self.min_records

    @property
    def drifted_features(self) -> list[str]:
        return [f.feature for f in self.features if f.drifted] if self.sufficient else []

    @property
    def max_distance(self) -> float | None:
        values = [f.ks for f in self.features if f.ks is not None]
        return max(values) if values else None

    def violations(self) -> dict[str, Any]:
        """Model Monitor's ``constraint_violations.json`` shape."""
        items = []
        if self.sufficient:
            for f in self.features:
                if f.current_count == 0:
                    items.append({"feature_name": f.feature, "constraint_check_type": "missing_column_check",
                                  "description": f"There is missing column {f.feature} in the captured requests"})
                elif f.drifted:
                    items.append({"feature_name": f.feature, "constraint_check_type": "baseline_drift_check",
                                  "description": f"Baseline drift distance: {f.ks:.4f} exceeds threshold: "
                                                 f"{self.threshold:g}"})
        return {"violations": items}

    def report(self) -> dict[str, Any]:
        return {"threshold": self.threshold, "statistic": "ks", "records": self.records,
                "minRecords": self.min_records, "sufficient": self.sufficient, "start": self.start, "end": self.end,
                "drifted": self.drifted_features, "maxDistance": self.max_distance,
                "features": [asdict(f) for f in self.features], **self.extra}


def _histogram(values: Any, edges: Sequence[float]) -> Any:
    import numpy as np

    inner = np.asarray(edges[1:-1], dtype=float)
    counts = np.bincount(np.searchsorted(inner, values, side="right"), minlength=len(inner) + 1)
    return counts / max(counts.sum(), 1)


def feature_drift(name: str, stats: Mapping[str, Any], current: Sequence[float], threshold: float) -> FeatureDrift:
    import numpy as np
    from scipy.spatial.distance import jensenshannon
    from scipy.stats import ks_2samp

    base = np.asarray(stats["sample"], dtype=float)
    now = np.asarray(current, dtype=float)
    if now.size == 0:
        return FeatureDrift(name, None, None, None, None, int(stats.get("count", base.size)), 0, True)
    test = ks_2samp(base, now)
    expected, actual = _histogram(base, stats["bin_edges"]), _histogram(now, stats["bin_edges"])
    js = float(jensenshannon(expected, actual, base=2))
    e, a = np.clip(expected, _EPSILON, None), np.clip(actual, _EPSILON, None)
    psi = float(np.sum((a - e) * np.log(a / e)))
    ks = float(test.statistic)
    return FeatureDrift(name, round(ks, 6), float(test.pvalue), round(js, 6), round(psi, 6),
                        int(stats.get("count", base.size)), int(now.size), ks > threshold)


def compute_drift(baseline: Mapping[str, Any], captured: Captured, *, threshold: float = DEFAULT_THRESHOLD,
                  features: Sequence[str] | None = None, min_records: int = DEFAULT_MIN_RECORDS) -> DriftResult:
    if not 0 < threshold < 1:
        raise DriftInputError(f"threshold {threshold}: expected a KS distance in (0, 1)")
    known = baseline["features"]
    names = list(features or known)
    unknown = [f for f in names if f not in known]
    if unknown:
        raise DriftInputError(f"features {', '.join(unknown)} are not in the baseline "
                              f"(baseline features: {', '.join(known)})")
    return DriftResult(threshold, [feature_drift(f, known[f], captured.columns.get(f, []), threshold) for f in names],
                       captured.rows, min_records, extra={"skippedLines": captured.skipped, "files": captured.files})


def metric_data(result: DriftResult, endpoint: str, schedule: str, when: datetime | None = None) -> list[dict[str, Any]]:
    """The ``PutMetricData`` data of a run: nothing when there were too few requests for a verdict."""
    if not result.sufficient:
        return []
    stamp = (when or utc_now()).replace(microsecond=0)
    dimensions = [{"Name": "Endpoint", "Value": endpoint}, {"Name": "MonitoringSchedule", "Value": schedule}]
    data = [{"MetricName": f"{FEATURE_METRIC_PREFIX}{f.feature}", "Dimensions": dimensions, "Timestamp": stamp,
             "Value": f.ks if f.ks is not None else 1.0, "Unit": "None"} for f in result.features]
    data.append({"MetricName": MAX_METRIC, "Dimensions": dimensions, "Timestamp": stamp,
                 "Value": max(d["Value"] for d in data), "Unit": "None"})
    return data


def utc_now() -> datetime:
    return datetime.now(timezone.utc)
