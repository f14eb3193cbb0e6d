"""Keep pydantic from searching for plugins: a start-up cost pipelinegen does not need.

The first time pydantic builds a validator it imports `pydantic.plugin._loader`, which imports
importlib.metadata (and the email package) to scan every installed distribution's entry points
for pydantic plugins: about 18 ms, a third of what `validate` adds to its imports. pipelinegen
uses no plugin, so unless the loader is already loaded (pydantic used by someone else in this
process), an equivalent that finds none takes its place. Imported first by this package, before
any model exists.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Iterable
from typing import Any


def _no_plugins() -> Iterable[Any]:
    return ()


if "pydantic.plugin._loader" not in sys.modules:
    _loader = types.ModuleType("pydantic.plugin._loader", __doc__)
    _loader.get_plugins = _no_plugins  # type: ignore[attr-defined]
    sys.modules["pydantic.plugin._loader"] = _loader
