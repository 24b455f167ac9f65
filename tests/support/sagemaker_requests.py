"""The AWS API requests a plan's resources stand for, and checks of requests against the API model.

The engine receives a resource's inputs in the provider's camelCase schema (``primaryContainer``,
``memorySizeInMb``, ``kmsKeyArn``); the AWS API takes PascalCase members (``PrimaryContainer``,
``MemorySizeInMB``, ``KmsKeyId``), tags as a list, integers as integers. :func:`to_api_request`
turns the recorded inputs into the request, walking botocore's model of the operation, so a test
can send *exactly* what the component computed to moto (or to AWS) and any input the API does not
know fails loudly instead of being dropped. :func:`request_problems` checks a request written
directly in the API's shape (SageMaker Pipelines step arguments) against the same model.

botocore is imported lazily: it is a dev/pipelines dependency, not one of the Pulumi program's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

# Top-level inputs whose API member is not the input's name in PascalCase, per operation.
_TOP_LEVEL_RENAMES: dict[str, dict[str, str]] = {
    "CreateModel": {"name": "ModelName"},
    "CreateEndpointConfig": {"name": "EndpointConfigName", "kmsKeyArn": "KmsKeyId"},
    "CreateEndpoint": {"name": "EndpointName"},
    "PutScalingPolicy": {"name": "PolicyName"},
    "CreateRepository": {"name": "repositoryName", "encryptionConfigurations": "encryptionConfiguration"},
}
# Inputs that configure the provider, not the request (forceDelete: the provider empties a
# repository before deleting it).
_PROVIDER_ONLY = frozenset({"region", "tagsAll", "namePrefix", "forceDelete"})
# How SageMaker Pipelines spells a value computed at run time inside step arguments.
PIPELINE_EXPRESSION_KEYS = frozenset({"Get", "Std:Join", "Std:JsonGet"})


def _service_model(service: str) -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model(service)


def _member_for(shape: Any, key: str, renames: Mapping[str, str]) -> str:
    if key in renames:
        return renames[key]
    if key in shape.members:
        return key
    matches = [m for m in shape.members if m.lower() == key.lower()]
    if len(matches) != 1:
        raise KeyError(f"{shape.name} has no member for input {key!r} (members: {', '.join(shape.members)})")
    return matches[0]


def _scalar(shape: Any, value: Any, path: str) -> Any:
    kind = shape.type_name
    if kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
            raise TypeError(f"{path}: {value!r} is not an integer")
        return int(value)
    if kind in ("float", "double"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"{path}: {value!r} is not a number")
        return float(value)
    if kind == "boolean":
        if not isinstance(value, bool):
            raise TypeError(f"{path}: {value!r} is not a boolean")
        return value
    if kind == "string":
        if not isinstance(value, str):
            raise TypeError(f"{path}: {value!r} is not a string")
        return value
    raise TypeError(f"{path}: cannot convert to a {kind}")


def _convert(shape: Any, value: Any, path: str, renames: Mapping[str, str] | None = None) -> Any:
    kind = shape.type_name
    if kind == "structure" and isinstance(value, list) and len(value) == 1:
        value = value[0]  # a provider block of at most one item is a structure in the API
    if kind == "structure":
        if not isinstance(value, Mapping):
            raise TypeError(f"{path}: expected an object for {shape.name}, got {value!r}")
        result = {}
        for key, item in value.items():
            if key in _PROVIDER_ONLY or item is None:
                continue
            member = _member_for(shape, key, renames or {})
            result[member] = _convert(shape.members[member], item, f"{path}.{member}")
        return result
    if kind == "list":
        if shape.member.type_name == "structure" and shape.member.name == "Tag" and isinstance(value, Mapping):
            return [{"Key": k, "Value": v} for k, v in sorted(value.items())]
        if not isinstance(value, list):
            raise TypeError(f"{path}: expected a list, got {value!r}")
        return [_convert(shape.member, item, f"{path}[{i}]") for i, item in enumerate(value)]
    if kind == "map":
        if not isinstance(value, Mapping):
            raise TypeError(f"{path}: expected a map, got {value!r}")
        return {k: _convert(shape.value, v, f"{path}[{k}]") for k, v in value.items()}
    return _scalar(shape, value, path)


def to_api_request(service: str, operation: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The ``operation`` request (botocore shape) for a resource's recorded camelCase ``inputs``.

    ``service`` is botocore's service name (``sagemaker``, ``application-autoscaling``). Raises
    KeyError for an input the API has no member for, TypeError for a value of the wrong type.
    """
    shape = _service_model(service).operation_model(operation).input_shape
    return _convert(shape, inputs, operation, _TOP_LEVEL_RENAMES.get(operation, {}))


def is_pipeline_expression(value: Any) -> bool:
    return isinstance(value, Mapping) and len(value) == 1 and next(iter(value)) in PIPELINE_EXPRESSION_KEYS


def _problems(shape: Any, value: Any, path: str, optional: frozenset[str]) -> Iterable[str]:
    if is_pipeline_expression(value):
        return  # resolved by SageMaker Pipelines at run time
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, Mapping):
            yield f"{path}: expected an object ({shape.name}), got {value!r}"
            return
        for key in value:
            if key not in shape.members:
                yield f"{path}: {shape.name} has no member {key!r}"
        for required in shape.required_members:
            if required not in value and required not in optional:
                yield f"{path}: {shape.name} requires {required!r}"
        for key, item in value.items():
            if key in shape.members:
                yield from _problems(shape.members[key], item, f"{path}.{key}", optional)
    elif kind == "list":
        if not isinstance(value, list):
            yield f"{path}: expected a list, got {value!r}"
            return
        for i, item in enumerate(value):
            yield from _problems(shape.member, item, f"{path}[{i}]", optional)
    elif kind == "map":
        if not isinstance(value, Mapping):
            yield f"{path}: expected a map, got {value!r}"
            return
        for key, item in value.items():
            yield from _problems(shape.value, item, f"{path}[{key}]", optional)
    else:
        try:
            _scalar(shape, value, path)
        except TypeError as exc:
            yield str(exc)
            return
        if kind == "string" and "enum" in shape.metadata and value not in shape.metadata["enum"]:
            yield f"{path}: {value!r} is not one of {', '.join(shape.metadata['enum'][:12])}..."


def request_problems(service: str, operation: str, request: Mapping[str, Any], *,
                     optional: Iterable[str] = ()) -> list[str]:
    """What the API model says is wrong with ``request`` (PascalCase), pipeline expressions aside.

    ``optional`` names required members the caller leaves out on purpose (SageMaker Pipelines
    names the jobs it starts, so step arguments omit ``TrainingJobName``).
    """
    shape = _service_model(service).operation_model(operation).input_shape
    return list(_problems(shape, request, operation, frozenset(optional)))
