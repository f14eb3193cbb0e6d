"""The CLI tests run pipelinegen from this checkout (an editable install), which `compile` warns
CI cannot install; they are about other output, so they run as a pipelinegen installed from the
package index would. tests/test_provenance.py covers the warning itself."""

from __future__ import annotations

import pytest

from pipelinegen import provenance


@pytest.fixture(autouse=True)
def _installed_from_the_index(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(provenance, "origin", lambda *_: provenance.Origin("index"))
