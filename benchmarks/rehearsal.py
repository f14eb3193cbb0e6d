"""The pipeline's own overhead per release, measured: per stage, the seconds its CodeBuild
install phase takes (run for real: apt-get, npm, pip, and install-helm.sh where get.helm.sh is
reachable) against the seconds of the stage's own work, in the release rehearsal.

    sudo .venv/bin/python -m benchmarks.rehearsal [--write]

Needs what scripts/test installs for the rehearsal, root, and the network for the install
phases. Releases the synthetic umbrella repository (tests/rehearsal/charts.py: two images, three
environments, Marketplace) once and prints a Markdown table; --write saves it to REHEARSAL.md.
The UpdatePipeline action's work is one `cdk synth` of the release's app (timed at deploy time,
where the rehearsal first runs it); the self-mutation's is the template comparison that stands in
for it.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path

from tests.rehearsal.charts import umbrella
from tests.rehearsal.checkout import prepare
from tests.rehearsal.rehearsal import Run, World
from tests.rehearsal.report import registry_hosts

HERE = Path(__file__).resolve().parent


def measure() -> tuple[Run, float]:
    with tempfile.TemporaryDirectory(prefix="rehearsal-benchmark-") as temporary:
        root = Path(temporary)
        checkout = prepare(umbrella(root / "source"), root / "checkout")
        world = World(root / "world", install=True)
        try:
            world.open(registry_hosts([checkout]))
            started = time.monotonic()
            deployed = world.deploy(checkout)
            synth = time.monotonic() - started
            return world.release(checkout, deployed, "v1.0.0"), synth
        finally:
            world.close()


def table(run: Run, synth: float) -> str:
    lines = [
        "# The release rehearsal: installing tools against the stages' own work",
        "",
        f"Measured by `benchmarks/rehearsal.py` on {platform.node() or 'this machine'} "
        f"({platform.machine()}, Python {platform.python_version()}); one release of the "
        "synthetic umbrella repository. Seconds, wall time.",
        "",
        "| stage | install (s) | own work (s) | install share |",
        "|---|---:|---:|---:|",
    ]
    total_install = total_work = 0.0
    for stage in run.stages:
        work = stage.work_seconds + (synth if stage.name == "Synth" else 0.0)
        share = stage.install_seconds / (stage.install_seconds + work) if work else 0.0
        lines.append(f"| {stage.name} | {stage.install_seconds:.1f} | {work:.1f} | {share:.0%} |")
        total_install += stage.install_seconds
        total_work += work
    lines.append(f"| **all** | **{total_install:.1f}** | **{total_work:.1f}** | |")
    lines += ["", f"Outcome: {'passed' if run.succeeded else f'failed at {run.failure}'}."]
    lines += [f"- {note}" for note in run.notes]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--write", action="store_true", help="save REHEARSAL.md")
    args = parser.parse_args()
    report = table(*measure())
    print(report)
    if args.write:
        (HERE / "REHEARSAL.md").write_text(report)


if __name__ == "__main__":
    main()
