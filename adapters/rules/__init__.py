"""Each context's repositories and unit of work, written once over record stores."""
