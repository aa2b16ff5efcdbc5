"""Redis adapters. redis-py is imported lazily: Portside imports without the `redis` extra."""
