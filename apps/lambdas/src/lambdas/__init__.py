"""The query service's Lambda functions. Each handler module is a Lambda entry point."""
