"""The components as a Pulumi component package, for TypeScript, Go, YAML, .NET and Java programs.

The Python SDK's component provider (``pulumi.provider.experimental``) infers a package schema from
type annotations and constructs a component from a dict of wire values. Our components take typed
Python args (dataclasses holding a ``StackContext``, nested dataclasses, pydantic settings models,
and Python-only values such as callables or resources), which that analyzer cannot read. So this
module *derives*, by introspecting each public component's args and attributes, one wire-level
component per public component:

- inputs: a TypedDict mirroring the args' fields (nested dataclasses and pydantic models become
  object types, ``Literal`` choices become enums, the ``StackContext`` becomes the flat naming and
  tagging inputs; the account and partition are looked up with the caller's credentials);
  a field that cannot cross the wire (a callable, a resource object) is left out when it has a
  default and is an error when it is required;
- outputs: the component's annotated attributes that hold values (resource objects are left out).

Construction converts the wire inputs back into the real args and builds the real component as the
wire component's only child, so its resources, names and guardrails are exactly the Python ones.
Nothing here is a second list of inputs: change an args class and the schema follows.

``python -m mlops_blueprint.package`` prints the schema; ``provider/__main__.py`` serves it.
"""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import enum
import inspect
import json
import linecache
import sys
import types
import typing
from collections import abc
from collections.abc import Callable
from functools import cache
from importlib import metadata
from typing import Any, Literal, NotRequired, TypedDict, Union, get_args, get_origin

import pulumi
import pulumi_aws as aws
from pydantic import BaseModel
from pulumi.provider.experimental.analyzer import Analyzer, is_input, unwrap_input
from pulumi.provider.experimental.schema import generate_schema
from pulumi.provider.experimental.util import camel_case

from mlops_blueprint.context import StackContext

PACKAGE = "mlops"
# The derived types live in a module of their own whose source (class stubs with each property's
# description as its docstring) is served from linecache: the analyzer reads property descriptions
# from a class's source, and a class without one makes it search every module's source, slowly.
TYPES_MODULE = "mlops_blueprint.package_types"
_TYPES_FILE = "<mlops_blueprint.package_types>"
_NONE = type(None)
_SIMPLE = (str, int, float, bool)
# StackContext fields that come from the caller's credentials, not from the program.
_RESOLVED = ("account_id", "partition")


class NotWireable(TypeError):
    """A Python-only type (a callable, a resource object, a fixed tuple) has no schema equivalent."""


@dataclasses.dataclass(frozen=True)
class Wire:
    """A type the analyzer understands, and how to turn its wire value back into the Python one."""

    type: Any
    convert: Callable[[Any, pulumi.Resource], Any]


def _same(value: Any, _parent: pulumi.Resource) -> Any:
    return value


def _pascal(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in camel_case(name).split("_"))


@cache
def _namespace(module_name: str) -> dict[str, Any]:
    """The module's globals plus the names it imports only under ``TYPE_CHECKING`` (to break an
    import cycle): by the time a schema is derived every module is loaded, so they resolve."""
    module = sys.modules[module_name]
    namespace = dict(vars(module))
    try:
        tree = ast.parse(inspect.getsource(module))
    except (OSError, TypeError, SyntaxError):
        return namespace
    for node in ast.walk(tree):
        test = getattr(node, "test", None)
        if isinstance(node, ast.If) and ast.unparse(test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING"):
            for statement in node.body:
                if isinstance(statement, (ast.Import, ast.ImportFrom)):
                    with contextlib.suppress(ImportError):
                        exec(compile(ast.Module([statement], []), module_name, "exec"), namespace)  # noqa: S102
    return namespace


def _resolve_hints(owner: type) -> dict[str, Any]:
    """Each annotation of ``owner`` (and its bases) evaluated on its own, so one unresolvable
    annotation does not hide the others."""
    hints: dict[str, Any] = {}
    for klass in reversed(owner.__mro__):
        if klass in (object, pulumi.Resource, pulumi.ComponentResource, pulumi.CustomResource, BaseModel):
            continue
        namespace = _namespace(klass.__module__)
        for name, annotation in inspect.get_annotations(klass).items():
            try:
                hints[name] = eval(annotation, namespace, dict(vars(klass))) if isinstance(annotation, str) else annotation
            except Exception:  # noqa: BLE001 - unresolvable: treated as not wireable
                hints[name] = None
    return hints


def public_components() -> list[type[pulumi.ComponentResource]]:
    """The ComponentResources exported by ``mlops_blueprint.components`` (its ``__all__``)."""
    import mlops_blueprint.components as components

    found = (getattr(components, name) for name in components.__all__)
    return [c for c in found if inspect.isclass(c) and issubclass(c, pulumi.ComponentResource)]


def args_type(component: type[pulumi.ComponentResource]) -> type:
    """The type of the component's ``args`` parameter (the house style: one typed args object)."""
    annotation = inspect.get_annotations(component.__init__).get("args")
    if annotation is None:
        raise TypeError(f"{component.__name__}.__init__ has no annotated 'args' parameter")
    return eval(annotation, _namespace(component.__module__)) if isinstance(annotation, str) else annotation


class _Deriver:
    """Derives wire types (TypedDicts, enums) from Python types; one instance per schema."""

    def __init__(self) -> None:
        self.types: dict[Any, Wire] = {}
        self.names: dict[str, Any] = {}
        # name -> (the derived class, its stub's source): published as TYPES_MODULE.
        self.stubs: dict[str, tuple[type, str]] = {}
        # (owner, field) of args fields left out because they are Python-only and optional.
        self.omitted: list[tuple[str, str]] = []

    def _name(self, source: Any, name: str) -> str:
        if self.names.setdefault(name, source) is not source:
            raise TypeError(f"two different types would both be called {name!r} in the {PACKAGE} schema")
        return name

    # -- types ---------------------------------------------------------------------------------

    def wire(self, hint: Any, owner: str, field: str) -> Wire:
        origin, args = get_origin(hint), get_args(hint)
        if hint in _SIMPLE or hint is Any:
            return Wire(hint, _same)
        if origin is typing.Annotated:
            return self.wire(args[0], owner, field)
        if origin in (Union, types.UnionType):
            return self._union(hint, owner, field)
        if origin is Literal:
            return self._literal(hint, owner, field)
        if inspect.isclass(hint) and issubclass(hint, enum.Enum):
            return Wire(hint, lambda v, _p: hint(v))
        if origin in (list, tuple, set, frozenset, abc.Sequence, abc.MutableSequence, abc.Set):
            if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
                raise NotWireable(f"{hint} (a fixed-length tuple)")
            item = self.wire(args[0], owner, field)
            return Wire(list[item.type], lambda v, p: v if isinstance(v, pulumi.Output)
                        else tuple(item.convert(x, p) for x in v))
        if origin in (dict, abc.Mapping, abc.MutableMapping):
            # Keys are strings on the wire; a Literal of strings (e.g. severities) is checked by the model.
            if not (args[0] is str or (get_origin(args[0]) is Literal and all(isinstance(k, str) for k in get_args(args[0])))):
                raise NotWireable(f"{hint} (map keys must be strings)")
            value = self.wire(args[1], owner, field)
            return Wire(dict[str, value.type], lambda v, p: v if isinstance(v, pulumi.Output)
                        else {k: value.convert(x, p) for k, x in v.items()})
        if hint is StackContext:
            return self._context()
        if dataclasses.is_dataclass(hint) and inspect.isclass(hint):
            return self._object(hint, self._dataclass_fields(hint), lambda values: hint(**values))
        if inspect.isclass(hint) and issubclass(hint, BaseModel):
            return self._object(hint, self._model_fields(hint), lambda values: hint.model_validate(
                {(hint.model_fields[k].alias or k): v for k, v in values.items()}))
        raise NotWireable(str(hint))

    def _union(self, hint: Any, owner: str, field: str) -> Wire:
        members = [a for a in get_args(hint) if a is not _NONE]
        inner = members[0] if len(members) == 1 else Union[tuple(members)]  # noqa: UP007
        if is_input(inner):
            item = self.wire(unwrap_input(inner), owner, field)
            return Wire(pulumi.Input[item.type], lambda v, p: v if isinstance(v, pulumi.Output) else item.convert(v, p))
        if len(members) == 1:
            return self.wire(inner, owner, field)
        if all(m in _SIMPLE or get_origin(m) is Literal for m in members):
            # e.g. ``int | Literal["latest-approved"]``: any of them may be sent; the model checks it.
            return Wire(Any, _same)
        # A choice of Python types (e.g. config model or already-built object): the first one that
        # can cross the wire is the one other languages pass.
        for member in members:
            try:
                return self.wire(member, owner, field)
            except NotWireable:
                continue
        raise NotWireable(str(hint))

    def _literal(self, hint: Any, owner: str, field: str) -> Wire:
        if hint in self.types:
            return self.types[hint]
        values = get_args(hint)
        if not all(isinstance(v, str) for v in values):
            raise NotWireable(f"{hint} (only string choices)")
        name = self._name(hint, f"{owner}{_pascal(field)}")
        choices = enum.Enum(name, {_pascal(v.replace("-", "_")) or v: v for v in values}, module=TYPES_MODULE)
        self._stub(choices, [])  # members need no docstrings (and "None" is no valid Python name)
        self.types[hint] = Wire(choices, lambda v, _p: v.value if isinstance(v, enum.Enum) else v)
        return self.types[hint]

    # -- object types --------------------------------------------------------------------------

    def _dataclass_fields(self, source: type) -> list[tuple[str, Any, bool, str | None]]:
        hints = _resolve_hints(source)
        return [(f.name, hints.get(f.name), f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING,
                 f.metadata.get("description")) for f in dataclasses.fields(source) if f.init]

    @staticmethod
    def _model_fields(source: type[BaseModel]) -> list[tuple[str, Any, bool, str | None]]:
        return [(name, f.annotation, f.is_required(), f.description) for name, f in source.model_fields.items()]

    def _stub(self, derived: type, body: list[str]) -> None:
        """Register ``derived`` in TYPES_MODULE with a source stub (``body``: its statements)."""
        derived.__module__, derived.__qualname__ = TYPES_MODULE, derived.__name__
        lines = [f"class {derived.__name__}:", *(f"    {line}" for line in body or ["pass"])]
        self.stubs[derived.__name__] = (derived, "\n".join(lines))

    def publish(self) -> None:
        """Make TYPES_MODULE importable with the stubs as its source, for the analyzer's descriptions."""
        module = types.ModuleType(TYPES_MODULE, "Types derived from the components' args (mlops_blueprint.package).")
        module.__file__ = _TYPES_FILE
        source = "\n\n".join(text for _, text in self.stubs.values()) + "\n"
        for name, (derived, _) in self.stubs.items():
            setattr(module, name, derived)
        sys.modules[TYPES_MODULE] = module
        lines = source.splitlines(keepends=True)
        linecache.cache[_TYPES_FILE] = (len(source), None, lines, _TYPES_FILE)

    def _object(self, source: type, fields: list[tuple[str, Any, bool, str | None]],
                build: Callable[[dict[str, Any]], Any], name: str | None = None) -> Wire:
        if source in self.types:
            return self.types[source]
        name = self._name(source, name or source.__name__)
        annotations: dict[str, Any] = {}
        convert: dict[str, Callable[[Any, pulumi.Resource], Any]] = {}
        # Registered before the fields, so a self-referencing type terminates.
        typed = TypedDict(name, annotations)  # type: ignore[misc]
        self.types[source] = Wire(typed, lambda v, p: build(self._values(v, convert, p)))
        body: list[str] = []
        for field, hint, required, description in fields:
            try:
                if hint is None:
                    raise NotWireable("an unresolvable annotation")
                wire = self.wire(hint, name, field)
            except NotWireable as exc:
                if required:
                    raise NotWireable(f"{source.__qualname__}.{field} is required but is {exc}: "
                                      "it cannot be passed from another language") from None
                self.omitted.append((source.__qualname__, field))
                continue
            annotations[field] = wire.type if required else NotRequired[wire.type]
            convert[field] = wire.convert
            body += [f"{field}: Any", repr(description)] if description else [f"{field}: Any"]
        typed = TypedDict(name, annotations)  # type: ignore[misc]
        typed.__doc__ = inspect.getdoc(source)
        self._stub(typed, body)
        self.types[source] = Wire(typed, self.types[source].convert)
        return self.types[source]

    @staticmethod
    def _values(value: Any, convert: dict[str, Callable[[Any, pulumi.Resource], Any]],
                parent: pulumi.Resource) -> dict[str, Any]:
        value = value or {}
        return {k: convert[k](v, parent) for k, v in value.items() if k in convert and v is not None}

    def _context(self) -> Wire:
        """The StackContext flattened into the fields of its parts (naming, tagging), minus what
        the caller's credentials tell (account id, partition)."""
        if StackContext in self.types:
            return self.types[StackContext]
        parts = {f.name: f.type for f in dataclasses.fields(StackContext)}
        hints = _resolve_hints(StackContext)
        fields: dict[str, tuple[str, Any, bool, str | None]] = {}
        for part in parts:
            hint = hints[part]
            if dataclasses.is_dataclass(hint):
                for field in self._dataclass_fields(hint):
                    fields.setdefault(field[0], field)
            elif part not in _RESOLVED:
                fields.setdefault(part, (part, hint, False, None))
        flat = [f for f in fields.values() if f[0] not in _RESOLVED]

        def build(values: dict[str, Any], parent: pulumi.Resource) -> StackContext:
            invoke = pulumi.InvokeOptions(parent=parent)
            known = {**values, "account_id": aws.get_caller_identity(opts=invoke).account_id,
                     "partition": aws.get_partition(opts=invoke).partition}
            built: dict[str, Any] = {}
            for part in parts:
                hint = hints[part]
                if dataclasses.is_dataclass(hint):
                    names = [f.name for f in dataclasses.fields(hint) if f.init]
                    built[part] = hint(**{k: known[k] for k in names if k in known})
                elif part in known:
                    built[part] = known[part]
            return StackContext(**built)

        wire = self._object(StackContext, flat, lambda values: values)
        convert = wire.convert
        self.types[StackContext] = Wire(wire.type, lambda v, p: build(convert(v, p), p))
        return self.types[StackContext]

    # -- components ----------------------------------------------------------------------------

    def outputs(self, component: type) -> dict[str, Any]:
        """The component's annotated attributes that hold values; resource objects are left out."""
        return {name: hint for name, hint in _resolve_hints(component).items()
                if not name.startswith("_") and hint is not None and _value_type(hint)}

    def component(self, component: type[pulumi.ComponentResource]) -> type[pulumi.ComponentResource]:
        inputs = self.wire(args_type(component), component.__name__, "args")
        outputs = self.outputs(component)
        token = f"{PACKAGE}:index:{component.__name__}"

        def __init__(self: pulumi.ComponentResource, name: str, args: Any,
                     opts: pulumi.ResourceOptions | None = None) -> None:
            pulumi.ComponentResource.__init__(self, token, name, None, opts)
            built = component(name, inputs.convert(args, self), pulumi.ResourceOptions(parent=self))
            values = {attr: getattr(built, attr, None) for attr in outputs}
            for attr, value in values.items():
                setattr(self, attr, value)
            self.register_outputs({camel_case(a): v for a, v in values.items() if v is not None})

        __init__.__annotations__ = {"name": str, "args": inputs.type, "opts": pulumi.ResourceOptions | None,
                                    "return": None}
        namespace = {"__init__": __init__, "__annotations__": dict(outputs), "__doc__": inspect.getdoc(component),
                     "python_component": component}
        wire_class = types.new_class(component.__name__, (pulumi.ComponentResource,),
                                     exec_body=lambda ns: ns.update(namespace))
        self._stub(wire_class, [f"{name}: Any" for name in outputs])
        return wire_class


def _value_type(hint: Any) -> bool:
    """True when ``hint`` holds only plain values or Outputs of them (no resources, no objects)."""
    if hint in _SIMPLE or hint is Any or hint is _NONE or isinstance(hint, typing.ForwardRef):
        return True
    origin = get_origin(hint)
    if origin is not None:
        return all(_value_type(a) for a in get_args(hint) if a is not Ellipsis)
    return False


@cache
def _derived() -> tuple[tuple[type[pulumi.ComponentResource], ...], tuple[tuple[str, str], ...]]:
    deriver = _Deriver()
    wire = tuple(deriver.component(c) for c in public_components())
    deriver.publish()
    return wire, tuple(sorted(set(deriver.omitted)))


def wire_components() -> tuple[type[pulumi.ComponentResource], ...]:
    """One wire-level component per public component, in ``__all__`` order."""
    return _derived()[0]


def omitted_fields() -> tuple[tuple[str, str], ...]:
    """Args fields other languages cannot set (Python-only values with a default): (args class, field)."""
    return _derived()[1]


def version() -> str:
    try:
        return metadata.version("mlops-blueprint")
    except metadata.PackageNotFoundError:
        return "0.0.0"


def schema() -> dict[str, Any]:
    """The package schema, as the provider serves it (no plugin server needed)."""
    result = Analyzer(PACKAGE).analyze(list(wire_components()))
    dependencies = sorted(result["dependencies"], key=lambda d: f"{d.name}{d.version}")
    spec = generate_schema(PACKAGE, version(), None, result["component_definitions"],
                           result["type_definitions"], dependencies)
    return spec.to_json()


def serve() -> None:
    """Serve the components to the Pulumi engine (the plugin's entry point)."""
    from pulumi.provider.experimental import component_provider_host

    component_provider_host(list(wire_components()), name=PACKAGE, version=version())


if __name__ == "__main__":
    print(json.dumps(schema(), indent=2, sort_keys=True))
