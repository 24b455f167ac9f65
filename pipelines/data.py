"""Training data: a small synthetic tabular dataset, versioned in the stack's datasets bucket.

The data is generated (``sklearn.datasets.make_classification``, no download): a *baseline*
sample, and a *drifted* sample of the same concept whose features ``f0``, ``f2``, ``f3``, ``f5``
are shifted/scaled — the covariate shift a served model meets in production. Both are written as
CSV (columns ``f0..f7`` and ``label``) to the same key, so S3 versioning keeps every version and a
run records exactly which one it trained on: the object's ``VersionId`` and the SHA-256 of its
bytes (the content hash DVC would use). Re-reading ``(uri, version id)`` reproduces the data.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlops_blueprint.outputs import Out
from mlops_blueprint.pipelines.context import PipelineContext
from mlops_blueprint.pipelines.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

FEATURES = tuple(f"f{i}" for i in range(8))
LABEL = "label"
DATA_KINDS = ("baseline", "drifted")
# feature index -> (scale, shift) applied to the drifted sample
DRIFT = {0: (1.0, 1.5), 2: (1.0, -1.2), 3: (1.6, 0.0), 5: (1.0, 1.0)}
SAMPLES_PER_VERSION = 1500


def default_dataset_key(model: str) -> str:
    return f"{model}/train.csv"


def make_dataset(kind: str = "baseline", seed: int = 11) -> pd.DataFrame:
    """``kind`` = baseline or drifted; the same seed gives the same rows."""
    import pandas as pd
    from sklearn.datasets import make_classification

    if kind not in DATA_KINDS:
        raise InputError(f"dataset kind {kind!r} is not one of {', '.join(DATA_KINDS)}")
    features, labels = make_classification(n_samples=2 * SAMPLES_PER_VERSION, n_features=len(FEATURES),
                                           n_informative=5, n_redundant=1, class_sep=1.0, flip_y=0.02,
                                           random_state=seed)
    rows = slice(0, SAMPLES_PER_VERSION) if kind == "baseline" else slice(SAMPLES_PER_VERSION, None)
    features, labels = features[rows].copy(), labels[rows]
    if kind == "drifted":
        for column, (scale, shift) in DRIFT.items():
            features[:, column] = features[:, column] * scale + shift
    frame = pd.DataFrame(features.round(6), columns=list(FEATURES))
    frame[LABEL] = labels.astype(int)
    return frame


@dataclass(frozen=True)
class DatasetVersion:
    uri: str            # s3://bucket/key
    version_id: str     # the S3 object version
    sha256: str         # of the object's bytes
    rows: int

    def as_tags(self) -> dict[str, str]:
        return {"data.s3_uri": self.uri, "data.version_id": self.version_id, "data.sha256": self.sha256,
                "data.rows": str(self.rows)}


def upload_dataset(ctx: PipelineContext, frame: pd.DataFrame, key: str) -> DatasetVersion:
    bucket = str(ctx.outputs.require(Out.DATASETS_BUCKET_NAME, "training data"))
    body = frame.to_csv(index=False).encode()
    response = ctx.s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="text/csv", **ctx.kms_args())
    version = response.get("VersionId")
    if not version or version == "null":
        raise InputError(f"s3://{bucket}/{key} got no version id: bucket versioning must be on (the ArtifactStore "
                         "component turns it on) so that runs can name the data they trained on")
    return DatasetVersion(f"s3://{bucket}/{key}", version, hashlib.sha256(body).hexdigest(), len(frame))


def read_dataset(ctx: PipelineContext, key: str, version_id: str | None = None,
                 bucket: str | None = None) -> tuple[pd.DataFrame, DatasetVersion]:
    """The dataset at ``key`` (a given version, or the latest), with the version actually read."""
    import pandas as pd
    from botocore.exceptions import ClientError

    bucket = bucket or str(ctx.outputs.require(Out.DATASETS_BUCKET_NAME, "training data"))
    extra = {"VersionId": version_id} if version_id else {}
    try:
        response = ctx.s3.get_object(Bucket=bucket, Key=key, **extra)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        what = f"s3://{bucket}/{key}" + (f" (version {version_id})" if version_id else "")
        hint = " Upload one with `mlops-blueprint pipeline dataset`." if code in ("NoSuchKey", "404") else ""
        raise InputError(f"cannot read the dataset {what}: {code or exc}.{hint}") from None
    body = response["Body"].read()
    frame = pd.read_csv(io.BytesIO(body))
    missing = [c for c in (*FEATURES, LABEL) if c not in frame.columns]
    if missing:
        raise InputError(f"dataset s3://{bucket}/{key} lacks columns {', '.join(missing)}")
    version = response.get("VersionId") or "null"
    return frame, DatasetVersion(f"s3://{bucket}/{key}", version, hashlib.sha256(body).hexdigest(), len(frame))


def split(frame: pd.DataFrame, test_size: float = 0.25, seed: int = 42) -> tuple[Any, Any, Any, Any]:
    """The train/holdout split every step uses (so a gate re-creates a run's holdout exactly)."""
    from sklearn.model_selection import train_test_split

    features, labels = frame[list(FEATURES)], frame[LABEL]
    return train_test_split(features, labels, test_size=test_size, random_state=seed, stratify=labels)
