"""skops is imported without loading the process's lazy modules (the sandbox trains in a process that
has imported pulumi_aws, whose hundreds of lazy submodules skops's first import would otherwise load)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

PROBE = textwrap.dedent("""
    import importlib.abc, importlib.util, json, sys

    loaded = []

    class Recording(importlib.abc.Loader):
        def create_module(self, spec):
            return None
        def exec_module(self, module):
            loaded.append(module.__name__)

    # A lazily loaded module, as the Pulumi SDKs register them: any attribute access loads it.
    spec = importlib.util.spec_from_loader("lazy_probe", importlib.util.LazyLoader(Recording()))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules["lazy_probe"] = module

    from mlops_blueprint.pipelines.skops_import import import_skops_io
    import_skops_io()
    result = {{"loaded": list(loaded), "skops": "skops.io" in sys.modules,
              "still_registered": sys.modules.get("lazy_probe") is module}}

    # The hazard itself: skops's lookup of an object without __module__ touches every module.
    from skops.io._utils import whichmodule
    whichmodule(object(), "not_anywhere")
    result["loaded_by_a_lookup"] = loaded
    print(json.dumps(result))
""")


def test_skops_is_imported_without_loading_a_lazy_module():
    import json

    out = subprocess.run([sys.executable, "-c", PROBE.format()], capture_output=True, text=True, check=True,
                         timeout=120)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["skops"] and result["still_registered"]
    assert result["loaded"] == []  # hidden during skops's import
    # ...while the same lookup skops makes on import does load it: the probe can fail.
    assert result["loaded_by_a_lookup"] == ["lazy_probe"]
