"""The cache's tiers and their composition: `tier` (the protocol), `memory`, `multilevel`,
`fallback`, `flight` (single flight) and `service` (the `Cache` port over any tier). The Redis and
SQL tiers live with their drivers (`adapters/redis/cache.py`, `adapters/sql/cache.py`)."""
