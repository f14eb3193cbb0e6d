"""pipelinegen: compile one pipeline.yaml into GitHub Actions CI and an AWS CDK CodePipeline."""

__version__ = "0.1.0"
