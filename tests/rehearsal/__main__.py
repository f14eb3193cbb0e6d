"""One command for the rehearsal: `python -m tests.rehearsal [CHECKOUT...]`.

Releases every example (or the given repositories, each with pipelinegen's outputs committed)
through the rehearsal, printing each stage's outcome, its seconds of tool installation and of
its own work, and each image's digest at every hop. Exit 1 when any release fails or an image's
digest differs between hops. `--install` runs the buildspecs' install phases too (network).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from tests.rehearsal.checkout import prepare
from tests.rehearsal.rehearsal import ROOT, Run, World
from tests.rehearsal.report import digest_problems, registry_hosts, render


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.rehearsal", description=__doc__)
    parser.add_argument("checkouts", nargs="*", type=Path)
    parser.add_argument("--tag", default="v1.0.0")
    parser.add_argument("--install", action="store_true", help="run the install phases too")
    args = parser.parse_args(argv)
    sources = args.checkouts or sorted(
        p.parent for p in (ROOT / "examples").glob("*/pipeline.yaml")
    )
    status = 0
    with tempfile.TemporaryDirectory(prefix="rehearsal-") as temporary:
        root = Path(temporary)
        for source in sources:
            checkout = prepare(source, root / "checkouts" / source.name)
            # A world each: the examples are separate projects, but some share a project name
            # (and so ECR repositories and a Marketplace listing) that one AWS account would hold
            # once; the tags there are immutable.
            world = World(root / "worlds" / source.name, install=args.install)
            try:
                world.open(registry_hosts([checkout]))
                world.seed_upstream([checkout])
                run: Run = world.release(checkout, world.deploy(checkout), args.tag)
            finally:
                world.close()
            problems = digest_problems(run)
            print(render(checkout.name, run, problems))
            status |= int(not run.succeeded or bool(problems))
    return status


if __name__ == "__main__":
    sys.exit(main())
