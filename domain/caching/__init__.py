"""The caching context (specs 002 and 004): cache keys, values, glob patterns and statistics.

Pure rules only; the tiers (memory, Redis, SQL) and their composition live in `adapters/caching`.
"""
