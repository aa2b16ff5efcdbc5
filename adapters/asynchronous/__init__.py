"""The async face of the ports (docs/async.md): the sync units of work and repositories, awaited."""
