@memory
Feature: Invalidation by pattern
  As a service whose data changed
  I want to drop every entry of a workspace with one pattern
  So that readers get the new data, and other tenants' entries stay

  Background:
    Given the cache of "Acme Corp" on a manual clock
    And the cache of "Globex" on a manual clock
    And "Acme Corp" has cached "workspace:7:documents", "workspace:7:members", "workspace:8:documents" and "profile"
    And "Globex" has cached "workspace:7:documents"

  Scenario: A workspace's entries go, the others stay
    When "Acme Corp" invalidates the workspace "7"
    Then 2 entries were invalidated
    And "Acme Corp" holds "profile" and "workspace:8:documents"
    And "Globex" holds "workspace:7:documents"

  Scenario: Patterns follow Redis's globs
    When "Acme Corp" invalidates "workspace:[78]:doc*"
    Then 2 entries were invalidated
    And "Acme Corp" holds "profile" and "workspace:7:members"
