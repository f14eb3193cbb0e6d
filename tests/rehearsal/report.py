"""What a rehearsal run says: the digest check across hops, and a text report."""

from __future__ import annotations

import json
from pathlib import Path

from tests.rehearsal.rehearsal import Run

HOPS = ("archive", "manifest", "registry")


def digest_problems(run: Run) -> list[str]:
    """Every image whose digest is not the same at every hop, naming the hop that differs."""
    problems = []
    for name, hops in sorted(run.digests.items()):
        expected = hops.get("archive", "")
        for hop, digest in hops.items():
            if digest != expected:
                problems.append(f"image {name}: {hop} has {digest}, the archive {expected}")
        if run.succeeded and "registry" not in hops:
            problems.append(f"image {name}: never reached the registry hop")
    return problems


def registry_hosts(checkouts: list[Path]) -> list[str]:
    """The ECR registry host of every checkout's pipeline, and the registry of each third-party
    image it declares (the names the sandbox resolves)."""
    hosts = set()
    for checkout in checkouts:
        spec = json.loads((checkout / "deploy" / "cdk" / "pipeline.json").read_text())
        hosts.add(f"{spec['account']}.dkr.ecr.{spec['region']}.amazonaws.com")
        hosts.update(image["image"].split("/", 1)[0] for image in spec["third_party_images"])
    return sorted(hosts)


def render(name: str, run: Run, problems: list[str]) -> str:
    lines = [f"== {name} {run.tag}: {'passed' if run.succeeded and not problems else 'FAILED'}"]
    for stage in run.stages:
        lines.append(
            f"  {stage.name:<24} {stage.status:<10} install {stage.install_seconds:6.1f} s"
            f"  work {stage.work_seconds:6.1f} s"
        )
    if run.failure:
        lines.append(f"  failed at {run.failure}")
    for image, hops in sorted(run.digests.items()):
        lines.append(f"  {image}: " + ", ".join(f"{hop}={d[:19]}" for hop, d in hops.items()))
    lines.extend(f"  digest: {problem}" for problem in problems)
    lines.extend(f"  note: {note}" for note in run.notes)
    return "\n".join(lines)
