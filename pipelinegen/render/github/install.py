"""How the generated jobs install the pipelinegen that compiled them, everything pinned.

pip cannot check a hash of a git checkout (`--require-hashes` rejects VCS requirements), and a
wheel cannot carry its own hash, so installing takes two pip runs (pip's "Secure installs" and
"Hash-checking mode" documentation, pip 25):

1. the dependencies, from the requirements file compile writes beside the workflows: every
   version pinned and every file's sha256 listed (`--require-hashes`), wheels only, no
   dependencies of their own beyond the file (`--no-deps`);
2. pipelinegen itself without dependencies (`--no-deps`): from the package index at the exact
   version that compiled the files, or from a git repository at a full commit SHA (built with
   the hash-pinned build backend from step 1, `--no-build-isolation`).

`pip check` then proves the file covered every dependency, and the version is compared with the
one that compiled the files.

The CI `chart` job installs the chart check's one package beyond the standard library,
kubernetes-validate, the same way: its own hash-pinned file (chart_requirements()), one pip run.
"""

from __future__ import annotations

from pipelinegen import __version__, naming
from pipelinegen.render.github.actions import action
from pipelinegen.render.github.jobs import Step
from pipelinegen.resources import data_dir
from pipelinegen.spec.models import Spec

PYTHON = "3.12"  # the Python of the jobs that run pipelinegen

_INSTALL = (
    'python -m pip install --require-hashes --only-binary :all: --no-deps -r "$REQUIREMENTS"\n'
    'python -m pip install --no-deps --no-build-isolation "$PIPELINEGEN"\n'
    "python -m pip check\n"
    'installed="$(pipelinegen --version)"\n'
    'if [ "$installed" != "pipelinegen, version $VERSION" ]; then\n'
    '  echo "::error::$PIPELINEGEN is $installed; the files were compiled by $VERSION" >&2\n'
    "  exit 1\n"
    "fi\n"
)
_CHART_INSTALL = (
    'python -m pip install --require-hashes --only-binary :all: --no-deps -r "$REQUIREMENTS"\n'
    "python -m pip check\n"
)


def requirement(spec: Spec) -> str:
    """pipelinegen as pip names it: `pipelinegen==X.Y.Z` or `pipelinegen @ git+URL@SHA`."""
    if spec.pipelinegen is None:
        return f"pipelinegen=={__version__}"
    return f"pipelinegen @ git+{spec.pipelinegen.git}@{spec.pipelinegen.commit}"


def requirements(spec: Spec) -> str:
    """The hash-pinned requirements file: pipelinegen's dependencies at the versions it is tested
    with, plus its build backend when it is built from a git commit. The pins and hashes are
    shipped in templates/install/ (written by scripts/refresh-requirements)."""
    files = ["requirements.txt"]
    if spec.pipelinegen is not None:
        files.append("build-requirements.txt")
    return "".join(
        (data_dir("templates") / "install" / name).read_text(encoding="utf-8") for name in files
    )


def chart_requirements() -> str:
    """The hash-pinned requirements file of the chart check's schema check: kubernetes-validate
    and its dependencies at constraints.txt's pins (templates/install/, written by
    scripts/refresh-requirements)."""
    return (data_dir("templates") / "install" / "chart-requirements.txt").read_text("utf-8")


def chart_install_steps() -> list[Step]:
    """Python, then kubernetes-validate by hash, wheels only (the chart check's schema check)."""
    return [
        Step("Set up Python", action("actions/setup-python"), {"python-version": PYTHON}),
        Step(
            "Install kubernetes-validate",
            env={"REQUIREMENTS": naming.CHART_REQUIREMENTS},
            run=_CHART_INSTALL,
        ),
    ]


def install_steps(spec: Spec) -> list[Step]:
    """Python, then pipelinegen as described above."""
    return [
        Step("Set up Python", action("actions/setup-python"), {"python-version": PYTHON}),
        Step(
            f"Install pipelinegen {__version__}",
            env={
                "PIPELINEGEN": requirement(spec),
                "REQUIREMENTS": naming.INSTALL_REQUIREMENTS,
                "VERSION": __version__,
            },
            run=_INSTALL,
        ),
    ]
