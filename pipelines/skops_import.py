"""Import skops (MLflow's safe scikit-learn format) without loading every lazy module of the process.

On its first import, skops looks for objects that carry no ``__module__`` (scipy's ufuncs) with a
``getattr`` on every module in ``sys.modules``. A ``getattr`` on a lazily loaded module loads it, and
the Pulumi SDKs register hundreds of them (every ``pulumi_aws`` submodule): in a process that has
imported ``pulumi_aws``, as the sandbox has after its preview, that import alone took ~20 s of CPU.
A module that is not loaded yet cannot hold a scipy ufunc, so it is hidden while skops imports.
In a training container, where nothing is lazily loaded, this is a plain import.
"""

from __future__ import annotations

import importlib
import sys
import types


def _not_loaded_yet(module: object) -> bool:
    # pulumi._utils._LazyModule and importlib.util._LazyModule turn into plain modules once loaded.
    return isinstance(module, types.ModuleType) and type(module).__name__ == "_LazyModule"


def import_skops_io() -> types.ModuleType:
    """``skops.io``, imported with the process's not-yet-loaded lazy modules out of sight."""
    if "skops.io" in sys.modules:
        return sys.modules["skops.io"]
    hidden = {name: module for name, module in sys.modules.items() if _not_loaded_yet(module)}
    for name in hidden:
        del sys.modules[name]
    try:
        return importlib.import_module("skops.io")
    finally:
        for name, module in hidden.items():
            sys.modules.setdefault(name, module)  # one imported meanwhile keeps its loaded module
