"""Load a script that is not part of a package (examples/, docs/, tests/data/) as a module, for its tests."""

import importlib.util
import sys
from pathlib import Path


def load_script(path: Path, name: str | None = None):
    """The module that the script at ``path`` defines, executed once (its ``__main__`` block does not run)."""
    name = name or Path(path).stem
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class body runs
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[name]
    return module
