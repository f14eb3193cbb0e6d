"""The CDK app: static sources from templates/cdk/, plus the data they read (pipeline.json).

The app's code is the same for every spec; what differs is `pipeline.json`, the spec resolved
into exactly the names and values the stacks use (defaults applied, names derived once in
pipelinegen.naming), and requirements.txt with the pinned aws-cdk-lib.
"""

from __future__ import annotations

import json
import posixpath
from typing import Any

from pipelinegen import access, naming, retries
from pipelinegen.chart import values as image_values
from pipelinegen.kubernetes import DEFAULT_KUBERNETES_VERSION
from pipelinegen.render.cdk.versions import APP_REQUIREMENTS, CDK_CLI, HELM, KUBECTL, SKOPEO_DEBS
from pipelinegen.render.header import GENERATED_BY, with_header
from pipelinegen.resources import data_dir
from pipelinegen.sessions import sessions
from pipelinegen.spec.models import Environment, Spec
from pipelinegen.spec.rules import is_file_reference

TEMPLATE_DIR = "cdk"
RELEASE_CDK = "cdk"  # where the app sits inside the release zip
RELEASE_CHART = "chart"
RELEASE_MARKETPLACE = "marketplace"


def cdk_app(spec: Spec, *, spec_path: str, spec_sha256: str) -> dict[str, str]:
    """Every file of the CDK app, by repository path."""
    root = data_dir("templates") / TEMPLATE_DIR
    files = {}
    for source in sorted(root.rglob("*")):
        if source.is_file() and "__pycache__" not in source.parts:
            relative = source.relative_to(root).as_posix()
            text = source.read_text(encoding="utf-8")
            commented = source.suffix in (".py", ".sh")
            files[f"{naming.CDK_APP_DIR}/{relative}"] = (
                with_header(text, spec_path) if commented else text
            )
    files[naming.CDK_SPEC] = json.dumps(resolved(spec, spec_sha256), indent=2) + "\n"
    files[f"{naming.CDK_APP_DIR}/requirements.txt"] = with_header(
        "".join(
            f"{name}=={version} --hash=sha256:{sha}\n" for name, version, sha in APP_REQUIREMENTS
        ),
        spec_path,
    )
    for environment in spec.environments:
        path = f"{naming.CDK_APP_DIR}/{access.manifest_path(environment)}"
        files[path] = with_header(access.document(spec, environment), spec_path)
    if spec.marketplace and not is_file_reference(spec.marketplace.usage_instructions):
        files[f"{naming.CDK_APP_DIR}/{naming.INLINE_USAGE}"] = spec.marketplace.usage_instructions
    return files


def resolved(spec: Spec, spec_sha256: str) -> dict[str, Any]:
    """The spec as the stacks read it: every default applied, every derived name spelled out."""
    return {
        "generated_by": GENERATED_BY,
        "project": spec.name,
        "spec_sha256": spec_sha256,
        "account": spec.aws.account,
        "region": spec.aws.region,
        "registry_scanning": spec.aws.registry_scanning,
        "aws_retries": retries.ENVIRONMENT,
        "cdk_cli": CDK_CLI,
        "skopeo_debs": SKOPEO_DEBS,
        "kubectl": KUBECTL,
        "delivery": spec.delivery,
        "stacks": _stacks(spec),
        "roles": {
            "push": naming.push_role_name(spec),
            "marketplace": naming.marketplace_role_name(spec),
        },
        "sessions": sessions(),
        "github": {
            "repository": spec.github.repository,
            "owner_id": _id(spec.github.owner_id),
            "repository_id": _id(spec.github.repository_id),
            "release_tags": spec.github.release_tags,
            "release_environment": spec.release.environment,
            "release_workflow": naming.RELEASE_WORKFLOW,
            "oidc_provider_arn": spec.aws.oidc_provider_arn,
        },
        "release": {
            "bucket": naming.release_bucket(spec),
            "key": naming.release_key(spec),
            "images_key": naming.images_key(spec),
            "upload_role_name": naming.upload_role_name(spec),
        },
        "images": [
            {"name": image.name, "repository": naming.ecr_repository(spec, image.name)}
            for image in spec.images
        ],
        "helm": {
            "release": naming.helm_release(spec),
            **HELM,
            "images": image_values.resolved(spec),
        },
        "environments": [_environment(spec, environment) for environment in spec.environments],
        "third_party_images": [
            {
                "name": image.name,
                "image": image.image,
                "digest": image.image.rsplit("@", 1)[1],
                "repository": naming.ecr_repository(spec, image.name),
                "values": image_values.as_json(image_values.image_targets(image)),
            }
            for image in spec.third_party_images
        ],
        "marketplace": _marketplace(spec),
        "approvals": None
        if spec.approvals is None
        else {"topic_arn": spec.approvals.topic_arn, "review_url": _review_url(spec)},
        "alarms": None if spec.alarms is None else {"topic_arn": spec.alarms.topic_arn},
        "enterprise": {
            "permissions_boundary": spec.aws.permissions_boundary,
            "role_path": spec.aws.role_path,
            "tags": spec.aws.tags,
            "kms_key": spec.aws.kms_key,
        },
    }


def _stacks(spec: Spec) -> dict[str, str]:
    """The tooling account's stacks: the handoff and the pipeline (`delivery: aws`), or the
    registry the release workflow pushes to (`delivery: github`)."""
    if spec.delivery == "github":
        return {"registry": naming.registry_stack(spec)}
    return {"handoff": naming.handoff_stack(spec), "pipeline": naming.pipeline_stack(spec)}


def _review_url(spec: Spec) -> str:
    """Where an approver reviews a release: its tag on GitHub (the version is appended)."""
    return f"https://github.com/{spec.github.repository}/releases/tag/"


def _id(value: int | None) -> str | None:
    """GitHub IDs as the OIDC token carries them: strings of digits."""
    return None if value is None else str(value)


def _environment(spec: Spec, environment: Environment) -> dict[str, Any]:
    return {
        "name": environment.name,
        "stack": naming.target_stack(spec, environment),
        "account": naming.environment_account(spec, environment),
        "region": naming.environment_region(spec, environment),
        "cluster": environment.cluster,
        "namespace": environment.namespace,
        "values": [f"{RELEASE_CHART}/{path}" for path in environment.values],
        "approval": environment.approval,
        "marketplace": environment.marketplace,
        "deploy_role_name": naming.deploy_role_name(spec, environment),
        "project_role_name": naming.deploy_project_role_name(spec, environment),
        "kubernetes_version": environment.kubernetes_version or DEFAULT_KUBERNETES_VERSION,
        "api_versions": environment.api_versions,
        "access": environment.access.model_dump(),
        "network": None
        if environment.network is None
        else {
            "vpc": environment.network.vpc,
            "subnets": environment.network.subnets,
            "security_groups": environment.network.security_groups,
        },
        "runner": environment.runner,
        "force_conflicts": environment.helm.force_conflicts,
        "kubernetes_group": access.group(spec, environment),
        "access_manifest": f"{RELEASE_CDK}/{access.manifest_path(environment)}",
    }


def _marketplace(spec: Spec) -> dict[str, Any] | None:
    marketplace = spec.marketplace
    if marketplace is None:
        return None
    usage = marketplace.usage_instructions
    usage_file = (
        f"{RELEASE_MARKETPLACE}/{posixpath.normpath(usage)}"
        if is_file_reference(usage)
        else f"{RELEASE_CDK}/{naming.INLINE_USAGE}"
    )
    return {
        "product_id": marketplace.product_id,
        "seller_prefix": marketplace.seller_prefix,
        "compatible_services": marketplace.compatible_services,
        "delivery_option_title": marketplace.delivery_option_title,
        "description": marketplace.description,
        "usage_instructions_file": usage_file,
        "delivery_options": marketplace.delivery_options,
        "helm": _marketplace_helm(spec) if "helm" in marketplace.delivery_options else None,
    }


def _marketplace_helm(spec: Spec) -> dict[str, Any]:
    """The Helm delivery option as marketplace.py puts it in the change set: its defaults
    applied, the override parameters in the Catalog API's own shape."""
    assert spec.marketplace is not None
    marketplace, helm = spec.marketplace, spec.marketplace.helm
    publisher = next(env for env in spec.environments if env.marketplace)
    title = helm.title or marketplace.delivery_option_title
    return {
        "title": title,
        "description": helm.description or marketplace.description or title,
        "compatible_services": helm.compatible_services,
        "release_name": helm.release_name or naming.helm_release(spec),
        "namespace": helm.namespace or publisher.namespace,
        "service_account": helm.service_account,
        "quick_launch": helm.quick_launch,
        "override_parameters": [
            {
                "Key": parameter.key,
                **({"DefaultValue": parameter.default} if parameter.default else {}),
                "Metadata": {
                    "Label": parameter.label or parameter.key,
                    "Description": parameter.description,
                    "Obfuscate": parameter.obfuscate,
                },
            }
            for parameter in helm.override_parameters
        ],
    }
