"""Abstract ports: repositories, unit of work, clock. They depend on the domain only."""
