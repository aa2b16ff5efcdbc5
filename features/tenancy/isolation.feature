@memory
Feature: Each organization's own unit of work
  As a developer building services on the platform
  I want work done for one organization to reach that organization only
  And work that fails part-way to leave nothing behind

  Background:
    Given the organization "Acme Corp" is registered
    And the organization "Globex" is registered

  Scenario: An organization's unit of work sees that organization only
    When "Acme Corp" lists the organizations in its own unit of work
    Then the listed organizations are "Acme Corp"
    And the total is 1

  Scenario: An organization finds itself
    When "Acme Corp" looks up "Acme Corp" by id in its own unit of work
    Then "Acme Corp" is found

  Scenario: Another organization cannot be seen, by id or by slug
    When "Acme Corp" looks up "Globex" by id in its own unit of work
    Then nothing is found
    When "Acme Corp" looks up the slug "globex" in its own unit of work
    Then nothing is found
    When "Acme Corp" demands "Globex" by id in its own unit of work
    Then the request is refused with a NotFound

  Scenario: Another organization cannot be removed
    When "Acme Corp" tries to remove "Globex" in its own unit of work
    Then the request is refused with a NotFound
    And the organization "Globex" is named "Globex" at version 1

  Scenario: Another organization cannot be changed, nor a new one registered
    When "Acme Corp" tries to rename "Globex" to "Hijacked" in its own unit of work
    Then the request is refused with a TenantScopeRequired
    And the organization "Globex" is named "Globex" at version 1
    When "Acme Corp" tries to register "Intruder" in its own unit of work
    Then the request is refused with a TenantScopeRequired
    And 2 organizations are registered

  Scenario: An organization's unit of work changes that organization
    When "Acme Corp" renames itself to "Acme Two" in its own unit of work
    Then the organization "Acme Corp" is named "Acme Two" at version 2

  Scenario: A failing organization's unit of work leaves it unchanged
    When "Acme Corp" renames itself to "Acme Two" in its own unit of work, which then fails
    Then the work failed
    And the organization "Acme Corp" is named "Acme Corp" at version 1

  Scenario: Work that completes keeps everything it did
    When the operator registers "Initech" and "Hooli" in one unit of work that completes
    Then the registered organizations are:
      | name      |
      | Acme Corp |
      | Globex    |
      | Initech   |
      | Hooli     |

  Scenario: Work that fails part-way leaves nothing behind
    When the operator registers "Initech" and "Hooli" in one unit of work that then fails
    Then the work failed
    And the registered organizations are:
      | name      |
      | Acme Corp |
      | Globex    |

  Scenario: A refused request inside the work does not undo the rest
    When the operator registers "Initech", "Acme Corp" and "Hooli" in one unit of work that completes
    Then registering "Acme Corp" was refused with a Conflict
    And the registered organizations are:
      | name      |
      | Acme Corp |
      | Globex    |
      | Initech   |
      | Hooli     |

  Scenario: Administration cannot run inside an organization's unit of work
    When the operator registers "Initech" from inside the unit of work of "Acme Corp"
    Then the request is refused with a TenantScopeRequired
    And 2 organizations are registered

  Scenario: One organization's work cannot join another's
    When the unit of work of "Globex" is opened inside the unit of work of "Acme Corp"
    Then the request is refused with a TenantScopeRequired

  Scenario: Repositories cannot be used once their unit of work has ended
    When "Acme Corp" looks itself up after its unit of work has ended
    Then the request is refused with a UnitOfWorkInactive

  Scenario: A unit of work needs a real organization id
    When a unit of work is opened for the organization "acme-corp"
    Then the request is refused with a ValidationError naming "tenant_id"
