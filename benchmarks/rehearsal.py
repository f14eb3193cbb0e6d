"""The pipeline's own overhead per release, measured: per stage, the seconds its CodeBuild
install phase takes (run for real: apt-get, npm, pip, and install-helm.sh where get.helm.sh is
reachable) against the seconds of the stage's own work, in the release rehearsal.

    sudo .venv/bin/python -m benchmarks.rehearsal [--write]

Needs what scripts/test installs for the rehearsal, root, and the network for the install
phases. Releases the synthetic umbrella repository (tests/rehearsal/charts.py: two images, three
environments, Marketplace) twice, v1.0.0 then v1.0.1 with the same lock: the first release's
UpdatePipeline misses the build cache and fills it, the second restores it (the rehearsal's
stand-in for CodeBuild's S3 cache, World._restore); every action's install runs on a fresh host.
Prints a Markdown table per release; --write saves them to REHEARSAL.md.
The UpdatePipeline action's work is one `cdk synth` of the release's app (timed at deploy time,
where the rehearsal first runs it); the self-mutation's is the template comparison that stands in
for it.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

from tests.rehearsal.charts import umbrella
from tests.rehearsal.checkout import prepare
from tests.rehearsal.rehearsal import Run, World
from tests.rehearsal.report import registry_hosts

HERE = Path(__file__).resolve().parent


def measure() -> tuple[list[Run], float, tuple[float, float]]:
    with tempfile.TemporaryDirectory(prefix="rehearsal-benchmark-") as temporary:
        root = Path(temporary)
        checkout = prepare(umbrella(root / "source"), root / "checkout")
        world = World(root / "world", install=True)
        try:
            world.open(registry_hosts([checkout]))
            world.seed_upstream([checkout])
            load = os.getloadavg()[0]
            started = time.monotonic()
            deployed = world.deploy(checkout)
            synth = time.monotonic() - started
            runs = [world.release(checkout, deployed, tag) for tag in ("v1.0.0", "v1.0.1")]
            return runs, synth, (load, os.getloadavg()[0])
        finally:
            world.close()


def table(runs: list[Run], synth: float, load: tuple[float, float]) -> str:
    lines = [
        "# The release rehearsal: installing tools against the stages' own work",
        "",
        f"Measured by `benchmarks/rehearsal.py` on {platform.node() or 'this machine'} "
        f"({platform.machine()}, Python {platform.python_version()}); two releases of the "
        "synthetic umbrella repository with the same lock: the first fills the build cache, "
        "the second restores it. Seconds, wall time. The UpdatePipeline action's own work is "
        "one `cdk synth` of the release's app, timed once at deploy time. The build cache's "
        "restore is a local copy here and is not timed (CodeBuild's S3 transfer cannot run "
        "here); the notes give each Python install's bytes from the package index and from "
        "the cache. Helm's install fails here (get.helm.sh is out of reach); the tests' Helm "
        "stands in.",
    ]
    for run, label in zip(
        runs, ("first release (cold build cache)", "later release"), strict=False
    ):
        lines += [
            "",
            f"## {run.tag}: {label}",
            "",
            "| stage | install (s) | own work (s) | install share |",
            "|---|---:|---:|---:|",
        ]
        total_install = total_work = 0.0
        for stage in run.stages:
            work = stage.work_seconds + (synth if stage.name == "UpdatePipeline" else 0.0)
            share = stage.install_seconds / (stage.install_seconds + work) if work else 0.0
            lines.append(
                f"| {stage.name} | {stage.install_seconds:.1f} | {work:.1f} | {share:.0%} |"
            )
            total_install += stage.install_seconds
            total_work += work
        lines.append(f"| **all** | **{total_install:.1f}** | **{total_work:.1f}** | |")
        lines += ["", f"Outcome: {'passed' if run.succeeded else f'failed at {run.failure}'}."]
        lines += [f"- {note}" for note in run.notes]
    lines += [
        "",
        f"Load average (1 min) {load[0]:.1f} at the start and {load[1]:.1f} at the end, on "
        f"{os.cpu_count()} CPUs: a shared, loaded machine stretches every figure; the shares "
        "between installing and working are the point.",
    ]
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
