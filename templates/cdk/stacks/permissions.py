"""What publishing to AWS Marketplace may do, for whichever principal publishes: the pipeline's
Marketplace project (`delivery: aws`) or the Marketplace role (`delivery: github`)."""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_iam as iam

MARKETPLACE_REGISTRY_ACCOUNT = "709825985650"  # AWS Marketplace's own ECR registry
MARKETPLACE_REGION = "us-east-1"


def marketplace_statements(stack: Stack, marketplace: dict[str, Any]) -> list[iam.PolicyStatement]:
    """Log in to ECR, push to the seller's Marketplace repositories, and start and follow
    change sets of the one product."""
    seller_repositories = (
        f"arn:{stack.partition}:ecr:{MARKETPLACE_REGION}:{MARKETPLACE_REGISTRY_ACCOUNT}:"
        f"repository/{marketplace['seller_prefix']}/*"
    )
    catalog = (
        f"arn:{stack.partition}:aws-marketplace:{MARKETPLACE_REGION}:{stack.account}:AWSMarketplace"
    )
    return [
        # Logging in to any ECR registry, the Marketplace's included; the token API has no
        # resource to scope it to.
        iam.PolicyStatement(actions=["ecr:GetAuthorizationToken"], resources=["*"]),
        # The seller's Marketplace repositories: one per image and, with the Helm delivery
        # option, `<seller prefix>/<chart name>`, which `helm push` writes with the same ECR
        # actions as an image push (Amazon ECR User Guide, "Pushing a Helm chart to an Amazon
        # ECR private repository"); `skopeo inspect --raw` reads tags back with BatchGetImage.
        iam.PolicyStatement(
            actions=[
                "ecr:BatchCheckLayerAvailability",
                "ecr:BatchGetImage",
                "ecr:CompleteLayerUpload",
                "ecr:InitiateLayerUpload",
                "ecr:PutImage",
                "ecr:UploadLayerPart",
            ],
            resources=[seller_repositories],
        ),
        iam.PolicyStatement(
            actions=["aws-marketplace:StartChangeSet", "aws-marketplace:DescribeEntity"],
            resources=[f"{catalog}/ContainerProduct/{marketplace['product_id']}"],
        ),
        iam.PolicyStatement(
            actions=["aws-marketplace:DescribeChangeSet"],
            resources=[f"{catalog}/ChangeSet/*"],
        ),
        # Finding the change set a previous run started, and others that hold the product
        # (marketplace.py); ListChangeSets has no resource type to scope it to (Service
        # Authorization Reference, AWS Marketplace Catalog).
        iam.PolicyStatement(actions=["aws-marketplace:ListChangeSets"], resources=["*"]),
    ]
