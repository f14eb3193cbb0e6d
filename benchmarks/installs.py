"""Install overhead per release: what the pipeline's CodeBuild actions download and install, in
seconds and bytes, before and after the installs were cut, each install run for real here.

Run: .venv/bin/python benchmarks/installs.py [--write]
(--write replaces the "7. Install overhead per release" section of benchmarks/RESULTS.md).

Measured once each, on this machine, from the real registries (a download's time depends on
the network of the moment; the bytes do not):
- the CDK CLI: `npm pack aws-cdk@<pin>` and `npm install --global` of that tarball;
- the CDK app's Python packages, before: `pip download --require-hashes` of requirements.txt
  from PyPI, then `pip install` of those wheels into a fresh venv, byte-compiled;
- the same, after: install-python.sh (the UpdatePipeline action's install) into a fresh venv,
  twice: first with an empty wheelhouse (the first release with a lock: every wheel from PyPI,
  then saved to the S3 build cache), then with the wheelhouse that run left (a later release:
  CodeBuild restored the cache; the package index is set to a closed port on 127.0.0.1, so any
  request to it would fail the run). The script reports the bytes it took from the index and
  from the wheelhouse. The S3 transfer itself (restore, and the save after the first release)
  cannot run here: its bytes are the wheelhouse's, its seconds are not counted;
- skopeo the old way: `apt-get update` (into a private lists folder) and the skopeo .deb
  (`apt-get install --download-only --reinstall skopeo` into a private archive folder): this
  machine's Debian sources, where CodeBuild's Ubuntu image has Ubuntu's plus third-party ones;
- skopeo the new way: install-skopeo.sh, the pinned Debian packages, no apt.
pip runs without this machine's pip configuration (PIP_CONFIG_FILE=/dev/null), so every wheel
comes from PyPI. Helm is downloaded from get.helm.sh, which this machine cannot reach: it is
counted (once per environment before, once per release after), not timed.

Per release of a spec with E environments and Marketplace, before: the CLI twice (Synth and
SelfMutate), the Python packages once, skopeo by apt twice (Push and Marketplace), Helm E times.
After: the CLI once (one UpdatePipeline action), the Python packages once (from PyPI for the
first release with a lock, from the build cache after), skopeo once from pinned packages and
Helm once (both passed on as the Tools artifact).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from report import TIMES, Bar, Section, table

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
FULL = ROOT / "examples" / "full"
SCRIPTS = FULL / "deploy" / "cdk" / "scripts"
TITLE = "7. Install overhead per release"
COMMAND = ".venv/bin/python benchmarks/installs.py --write"


@dataclass(frozen=True)
class Install:
    """One install, measured: wall seconds, bytes downloaded from a package registry and bytes
    read from the build cache (None: not measured here)."""

    label: str
    seconds: float | None
    bytes: int | None
    cached: int = 0


# Every command runs without this machine's PIP_* settings (a local wheel folder, mirrors).
BASE_ENV = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}


def run(argv: list[str], *, cwd: Path, env: dict[str, str] | None = None) -> float:
    """Run a command to completion; its wall time in seconds."""
    return timed(argv, cwd=cwd, env=env)[0]


def timed(argv: list[str], *, cwd: Path, env: dict[str, str] | None = None) -> tuple[float, str]:
    """Run a command to completion; its wall time in seconds and its standard output."""
    started = time.monotonic()
    result = subprocess.run(
        argv,
        cwd=cwd,
        env={**BASE_ENV, **(env or {})},
        check=False,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed (exit {result.returncode}):\n{result.stderr}")
    return time.monotonic() - started, result.stdout


def size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else 0


def cdk_cli(work: Path) -> Install:
    pin = json.loads((FULL / "deploy/cdk/pipeline.json").read_text())["cdk_cli"]
    folder = work / "cli"
    folder.mkdir()
    env = {"NPM_CONFIG_CACHE": str(folder / "cache"), "NPM_CONFIG_UPDATE_NOTIFIER": "false"}
    seconds = run(["npm", "pack", f"aws-cdk@{pin['version']}", "--silent"], cwd=folder, env=env)
    [tarball] = folder.glob("aws-cdk-*.tgz")
    prefix = {"NPM_CONFIG_PREFIX": str(folder / "prefix"), **env}
    seconds += run(
        ["npm", "install", "--global", "--ignore-scripts", "--silent", str(tarball)],
        cwd=folder,
        env=prefix,
    )
    return Install("CDK CLI (npm)", seconds, tarball.stat().st_size)


# pip as on a fresh CodeBuild host: PyPI only, none of this machine's pip configuration.
PYPI_ONLY = {"PIP_CONFIG_FILE": os.devnull, "PIP_NO_CACHE_DIR": "1"}
INSTALLED = re.compile(r"==> (\d+) wheels: (\d+) bytes from the package index, (\d+) bytes from ")


def python_packages(work: Path) -> tuple[Install, Install, Install]:
    """(before: download and byte-compiled install; after, first release with a lock;
    after, a later release): each into a fresh venv."""
    folder = work / "pip"
    folder.mkdir()
    requirements = FULL / "deploy/cdk/requirements.txt"
    download = run(
        [
            *(sys.executable, "-m", "pip", "download", "--quiet", "--require-hashes"),
            *("--no-deps", "--only-binary=:all:", "-r", str(requirements)),
            *("-d", str(folder / "wheels")),
        ],
        cwd=folder,
        env=PYPI_ONLY,
    )
    python = venv(folder / "before")
    seconds = run(
        [
            *(python, "-m", "pip", "install", "--quiet"),
            *("--no-index", "--find-links", str(folder / "wheels"), "--require-hashes"),
            *("-r", str(requirements)),
        ],
        cwd=folder,
        env=PYPI_ONLY,
    )
    before = Install(
        "CDK app's Python packages (pip, byte-compiled)",
        download + seconds,
        size(folder / "wheels"),
    )
    wheelhouse = folder / "wheelhouse"
    cold = install_python(folder / "cold", wheelhouse, "https://pypi.org/simple/")
    warm = install_python(folder / "warm", wheelhouse, "http://127.0.0.1:9/simple/")
    return before, cold, warm


def venv(folder: Path) -> str:
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
    return str(folder / "bin" / "python")


def install_python(folder: Path, wheelhouse: Path, index: str) -> Install:
    """install-python.sh as the UpdatePipeline action runs it, in examples/full's release
    layout (deploy/ holds cdk/), into a fresh venv; what it took from where, as it reports."""
    env = {**PYPI_ONLY, "WHEELHOUSE": str(wheelhouse), "PYTHON": venv(folder)}
    seconds, output = timed(
        ["bash", str(SCRIPTS / "install-python.sh")],
        cwd=FULL / "deploy",
        env={**env, "PIP_INDEX_URL": index},
    )
    found = INSTALLED.search(output)
    assert found, output
    label = "from PyPI, first release with a lock" if int(found[3]) == 0 else "from the cache"
    return Install(
        f"CDK app's Python packages (install-python.sh, {label})",
        seconds,
        int(found[2]),
        int(found[3]),
    )


def skopeo_by_apt(work: Path) -> Install:
    """apt-get update and the skopeo .deb, into private folders (the system's apt state is
    left alone); not measured without apt-get or root."""
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        return Install("skopeo (apt-get update + install)", None, None)
    lists, archives = work / "apt-lists", work / "apt-archives"
    (lists / "partial").mkdir(parents=True)
    (archives / "partial").mkdir(parents=True)
    options = [
        "-o",
        f"Dir::State::Lists={lists}",
        "-o",
        f"Dir::Cache::Archives={archives}",
        "-o",
        "Debug::NoLocking=true",
        "-o",
        "APT::Sandbox::User=root",
    ]
    seconds = run(["apt-get", *options, "update"], cwd=work)
    seconds += run(
        ["apt-get", *options, "install", "--download-only", "--reinstall", "-y", "skopeo"],
        cwd=work,
    )
    return Install("skopeo (apt-get update + install)", seconds, size(lists) + size(archives))


def skopeo_pinned(work: Path) -> Install:
    release = work / "release"
    (release / "cdk").mkdir(parents=True)
    shutil.copy(FULL / "deploy/cdk/pipeline.json", release / "cdk/pipeline.json")
    seconds = run(["bash", str(SCRIPTS / "install-skopeo.sh")], cwd=release)
    pins = json.loads((release / "cdk/pipeline.json").read_text())["skopeo_debs"]
    downloaded = sum(_deb_size(pin["path"]) for pin in pins)
    return Install("skopeo (pinned .debs, install-skopeo.sh)", seconds, downloaded or None)


def _deb_size(path: str) -> int:
    """The .deb's size as Debian's index lists it (install-skopeo.sh deletes what it fetched)."""
    name = path.rsplit("/", 1)[-1].split("_")[0]
    result = subprocess.run(
        ["apt-cache", "show", name], capture_output=True, text=True, check=False
    )
    for block in result.stdout.split("\n\n"):
        if f"Filename: {path}" in block:
            found = re.search(r"^Size: (\d+)$", block, re.MULTILINE)
            return int(found[1]) if found else 0
    return 0


def per_release(counts: dict[str, int], installs: dict[str, Install]) -> tuple[float, int, int]:
    """(seconds, bytes from package registries, bytes from the build cache) of one release."""
    seconds = sum(counts[k] * (installs[k].seconds or 0.0) for k in counts)
    downloaded = sum(counts[k] * (installs[k].bytes or 0) for k in counts)
    cached = sum(counts[k] * installs[k].cached for k in counts)
    return seconds, downloaded, cached


BEFORE = {"cli": 2, "pip": 1, "apt": 2}
FIRST = {"cli": 1, "pip-cold": 1, "debs": 1}  # the first release with a lock (a cold cache)
LATER = {"cli": 1, "pip-warm": 1, "debs": 1}  # every later release with that lock


def section(installs: dict[str, Install], environments: int) -> Section:
    (s0, b0, _), (s1, b1, c1), (s2, b2, c2) = (
        per_release(counts, installs) for counts in (BEFORE, FIRST, LATER)
    )
    result = Section(TITLE)
    rows = [
        [i.label, _seconds(i.seconds), _megabytes(i.bytes), _megabytes(i.cached)]
        for i in installs.values()
    ]
    after = f"CDK CLI {TIMES}1, pinned skopeo {TIMES}1, Python packages {TIMES}1 "
    result.lines = [
        f"Produced by `{COMMAND}` (see the docstring of benchmarks/installs.py). Each install "
        "run once, for real, from the registries this machine reaches; seconds depend on the "
        "network of the moment, bytes do not. “Registries” are PyPI, the npm registry and the "
        "Debian/apt mirrors; “build cache” is the UpdatePipeline action's S3 cache of the "
        "wheels, keyed on the sha256 of cdk/requirements.txt (its S3 transfer cannot run here: "
        "its bytes are counted, its seconds are not).",
        "",
        *table(("install", "seconds", "MB from registries", "MB from the build cache"), rows),
        "",
        f"Per release of examples/full ({environments} environments, Marketplace):",
        "",
        *table(
            (
                "",
                "installs",
                "seconds",
                "MB from registries",
                "MB from the build cache",
                "Helm (get.helm.sh, not reachable here)",
            ),
            [
                [
                    "before",
                    f"CDK CLI {TIMES}2, Python packages compiled {TIMES}1, skopeo by apt {TIMES}2",
                    f"{s0:.1f}",
                    f"{b0 / 1e6:.1f}",
                    "0.0",
                    f"{TIMES}{environments}",
                ],
                [
                    "after, first release with a lock",
                    after + "from PyPI (then saved to the cache)",
                    f"{s1:.1f}",
                    f"{b1 / 1e6:.1f}",
                    f"{c1 / 1e6:.1f}",
                    f"{TIMES}1",
                ],
                [
                    "after, later releases",
                    after + "from the cache",
                    f"{s2:.1f}",
                    f"{b2 / 1e6:.1f}",
                    f"{c2 / 1e6:.1f}",
                    f"{TIMES}1",
                ],
                ["first / before", "", _ratio(s1, s0), _ratio(b1, b0), "", f"1/{environments}"],
                ["later / before", "", _ratio(s2, s0), _ratio(b2, b0), "", f"1/{environments}"],
            ],
        ),
        "",
        "The bytes bar is on bytes from registries in a later release: the lock changes only "
        "when pipelinegen or aws-cdk-lib is upgraded, so almost every release is a later one; "
        "and registry downloads are the overhead that breaks and slows releases (third-party "
        "services over the internet, outages, rate limits), while the cache is read from S3 in "
        "the pipeline's own account and region. Counting every byte that enters the build "
        f"containers, registries and cache together, a later release still moves "
        f"{(b2 + c2) / 1e6:.1f} MB ({_ratio(b2 + c2, b0)} of before): the cache moves the "
        "Python packages' bytes off the registries, it does not shrink them (aws-cdk-lib and the "
        "AWS CLI asset it loads at import are most of them). The first release with a new lock "
        f"downloads as much as before the cache ({_ratio(b1, b0)}) and uploads "
        f"{c2 / 1e6:.1f} MB to the cache.",
        "",
        "CodeBuild actions per release (each one provisions a build container and downloads its "
        f"input artifacts): before 3 + E (+1), after 2 + E (+1): {4 + environments} → "
        f"{3 + environments} for examples/full.",
    ]
    measured = s0 > 0 and s1 > 0
    result.bars = [
        Bar(
            7,
            "install seconds per release ≤ ½ before (first release with a lock)",
            _ratio(s1, s0),
            s1 <= s0 / 2 if measured else None,
        ),
        Bar(
            7,
            "bytes from registries per later release ≤ ½ before",
            _ratio(b2, b0),
            b2 <= b0 / 2 if b0 else None,
        ),
    ]
    return result


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def _megabytes(value: int | None) -> str:
    return "—" if value is None else f"{value / 1e6:.1f}"


def _ratio(after: float, before: float) -> str:
    return f"{after / before:.2f}" if before else "—"


def measure() -> Section:
    with tempfile.TemporaryDirectory(prefix="pipelinegen-installs-") as folder:
        work = Path(folder)
        before, cold, warm = python_packages(work)
        installs = {
            "cli": cdk_cli(work),
            "pip": before,
            "pip-cold": cold,
            "pip-warm": warm,
            "apt": skopeo_by_apt(work),
            "debs": skopeo_pinned(work),
        }
    environments = len(json.loads((FULL / "deploy/cdk/pipeline.json").read_text())["environments"])
    return section(installs, environments)


def write(result: Section) -> None:
    """Replace (or add) this section in RESULTS.md, and its bars in the bar table."""
    text = RESULTS.read_text(encoding="utf-8")
    body = "\n".join([f"## {TITLE}", "", *result.lines]) + "\n"
    start = text.find(f"## {TITLE}")
    text = text[:start].rstrip("\n") + "\n\n" + body if start >= 0 else text + "\n" + body
    bars = "".join(f"| {b.number} | {b.what} | {b.measured} | {b.verdict} |\n" for b in result.bars)
    text = re.sub(r"^\| 7 \|.*\n", "", text, flags=re.MULTILINE)
    anchor = re.search(r"^\| 6 \|.*\n", text, flags=re.MULTILINE)
    if anchor:
        text = text[: anchor.end()] + bars + text[anchor.end() :]
    verdicts = re.findall(r"^\| \d+ \|.*\| (met|\*\*MISSED\*\*|not measured) \|$", text, re.M)
    met = verdicts.count("met")
    text = re.sub(
        r"^\d+ of \d+ bars met.*$", f"{met} of {len(verdicts)} bars met.", text, count=1, flags=re.M
    )
    RESULTS.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"update {RESULTS.name}")
    args = parser.parse_args()
    result = measure()
    print("\n".join([f"## {TITLE}", "", *result.lines]))
    for bar in result.bars:
        print(f"bar: {bar.what}: {bar.measured} ({bar.verdict})")
    if args.write:
        write(result)
        print(f"wrote {RESULTS.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
