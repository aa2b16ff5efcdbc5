"""Pure domain model of Portside: aggregates, value objects and errors. No I/O lives here."""
