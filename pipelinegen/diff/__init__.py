"""`pipelinegen diff`: what a change to the spec does to the generated CI and CD."""
