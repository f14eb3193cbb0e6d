"""Generated specs for the scaling benchmarks, each written as a complete, valid repository.

A spec with N images has N images (every third multi-arch, every fourth with build arguments),
N/2 command checks (cycling Python, Node, Go and Java) plus the two presets, and max(2, N/20)
environments (2, 5 and 50 for 10, 100 and 1000 images) spread over three accounts and three
regions, the last with an approval. Marketplace takes at most 50 images, so only specs within that
limit publish to it. Every path the spec names exists (Dockerfiles, the chart with its
Chart.yaml, the values files, the usage instructions), so it validates with the path checks.

The error spec has E images whose names are invalid (upper case): E diagnostics, one per image,
on the same valid rest of the spec, so validate's error path is timed against the count alone.
"""

from __future__ import annotations

from pathlib import Path

MARKETPLACE_MAX_IMAGES = 50
ACCOUNTS = ("111111111111", "222222222222", "333333333333")
REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2")
SETUPS = (("python", "3.12"), ("node", "24"), ("go", "1.24"), ("java", "21"))
CHART = "deploy/chart"
USAGE = "docs/usage.md"


def environment_count(images: int) -> int:
    """Environments grow with images: 2, 5, 50 for 10, 100, 1000."""
    return max(2, images // 20)


def check_count(images: int) -> int:
    """Command checks grow with images (the two presets come on top)."""
    return max(1, images // 2)


def write_scaled_repository(root: Path, images: int) -> Path:
    """A valid repository whose spec has `images` images; returns the spec's path."""
    marketplace = images <= MARKETPLACE_MAX_IMAGES
    environments = environment_count(images)
    lines = [
        *_header(f"scale-{images}"),
        *_images_block(images),
        *_checks_block(check_count(images)),
        *_helm_block(),
        *_environments_block(environments, marketplace=marketplace),
        *(_marketplace_block() if marketplace else []),
    ]
    _write_files(root, _scaled_files(images, environments, marketplace=marketplace))
    return _write_spec(root, lines)


def write_error_repository(root: Path, errors: int) -> Path:
    """A repository whose spec has exactly `errors` problems (one invalid name per image)."""
    lines = [
        *_header(f"errors-{errors}"),
        "images:",
        *(f"  - name: Image_{index:05d}" for index in range(errors)),
        *_helm_block(),
        *_environments_block(1, marketplace=False),
    ]
    _write_files(root, {"Dockerfile": _dockerfile(), **_chart_files(1)})
    return _write_spec(root, lines)


def add_check(spec: Path, name: str) -> None:
    """Append one command check to a spec whose `checks:` list is followed by `helm:`."""
    text = spec.read_text(encoding="utf-8")
    check = f'  - name: {name}\n    setup: {{python: "3.12"}}\n    run: python -m pytest\n'
    spec.write_text(text.replace("\nhelm:\n", f"\n{check}\nhelm:\n", 1), encoding="utf-8")


def _write_spec(root: Path, lines: list[str]) -> Path:
    spec = root / "pipeline.yaml"
    spec.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return spec


def _write_files(root: Path, files: dict[str, str]) -> None:
    for path, text in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


def _header(name: str) -> list[str]:
    return [
        "version: 1",
        f"name: {name}",
        "github:",
        "  repository: acme/scale",
        "aws:",
        f'  account: "{ACCOUNTS[0]}"',
        f"  region: {REGIONS[0]}",
    ]


def _image_name(index: int) -> str:
    return f"image-{index:04d}"


def _images_block(count: int) -> list[str]:
    lines = ["images:"]
    for index in range(count):
        name = _image_name(index)
        lines += [f"  - name: {name}", f"    context: services/{name}"]
        if index % 3 == 0:
            lines.append("    platforms: [linux/amd64, linux/arm64]")
        if index % 4 == 0:
            lines.append(f'    build_args: {{VARIANT: "v{index}"}}')
    return lines


def _checks_block(count: int) -> list[str]:
    lines = ["checks:"]
    for index in range(count):
        tool, version = SETUPS[index % len(SETUPS)]
        lines += [
            f"  - name: check-{index:04d}",
            f'    setup: {{{tool}: "{version}"}}',
            f"    run: make check-{index:04d}",
        ]
    lines += ["  - name: secrets", "    preset: gitleaks"]
    lines += ["  - name: image-scan", "    preset: trivy-image"]
    return lines


def _helm_block() -> list[str]:
    return ["", "helm:", f"  chart: {CHART}"]


def _environment_name(index: int) -> str:
    return f"env-{index:03d}"


def _environments_block(count: int, *, marketplace: bool) -> list[str]:
    lines = ["environments:"]
    for index in range(count):
        name = _environment_name(index)
        lines += [
            f"  - name: {name}",
            f'    account: "{ACCOUNTS[index % len(ACCOUNTS)]}"',
            f"    region: {REGIONS[index % len(REGIONS)]}",
            f"    cluster: cluster-{name}",
            "    namespace: scale",
            f"    values: [deploy/values/common.yaml, deploy/values/{name}.yaml]",
        ]
        if index == count - 1:
            lines.append("    approval: true")
            if marketplace:
                lines.append("    marketplace: true")
    return lines


def _marketplace_block() -> list[str]:
    return [
        "marketplace:",
        "  product_id: prod-scale",
        "  seller_prefix: acme",
        "  delivery_option_title: Helm on Amazon EKS",
        f"  usage_instructions: {USAGE}",
    ]


def _scaled_files(images: int, environments: int, *, marketplace: bool) -> dict[str, str]:
    files = {f"services/{_image_name(i)}/Dockerfile": _dockerfile() for i in range(images)}
    files.update(_chart_files(environments))
    if marketplace:
        files[USAGE] = "Install the chart with Helm.\n"
    return files


def _chart_files(environments: int) -> dict[str, str]:
    files = {
        f"{CHART}/Chart.yaml": "apiVersion: v2\nname: scale\nversion: 0.1.0\n",
        f"{CHART}/values.yaml": "replicas: 1\n",
        "deploy/values/common.yaml": "replicas: 2\n",
    }
    for index in range(environments):
        files[f"deploy/values/{_environment_name(index)}.yaml"] = f"env: {index}\n"
    return files


def _dockerfile() -> str:
    return "FROM scratch\n"
