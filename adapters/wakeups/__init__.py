"""Wakers: how idle job workers are told a queue has work (`ports/wakeups.py`)."""
