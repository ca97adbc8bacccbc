"""The image build's custom resource: the service image built and pushed by CodeBuild."""
