"""Application layer: use cases, settings, the dependency-injector container, the CLI."""
