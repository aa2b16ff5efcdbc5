@memory
Feature: Registering organizations
  As a platform operator
  I want to register the organizations that use the platform
  So that each one becomes a tenant, known by a unique slug

  Scenario Outline: The slug is derived from the name when none is given
    When the operator registers an organization named "<name>"
    Then the organization "<name>" is registered with the slug "<slug>"
    And it can be found by the slug "<slug>"

    Examples:
      | name               | slug               |
      | Acme Corp.         | acme-corp          |
      | Globex Corporation | globex-corporation |
      | Initech 2.0        | initech-2-0        |
      | Wayne & Sons, Ltd  | wayne-sons-ltd     |

  Scenario: A slug chosen by the operator is kept
    When the operator registers an organization named "Acme Corporation" with the slug "acme"
    Then the organization "Acme Corporation" is registered with the slug "acme"
    And it can be found by the slug "acme"

  Scenario: Spaces around the name are dropped
    When the operator registers an organization named "   Acme Corp   "
    Then the organization "Acme Corp" is registered with the slug "acme-corp"

  Scenario: A new organization starts active, without settings, at version 1
    Given it is "2026-03-14T09:26:53+00:00"
    When the operator registers an organization named "Acme Corp"
    Then the new organization is active
    And the new organization is at version 1
    And the new organization has no settings
    And the new organization was registered and last changed at "2026-03-14T09:26:53+00:00"

  Scenario: An organization can be registered inactive, with its settings
    When the operator registers an inactive organization named "Acme Corp" with the settings:
      """
      {"plan": "enterprise", "seats": 250, "features": ["sso", "audit-log"], "trial": null}
      """
    Then the new organization is inactive
    And the settings of "Acme Corp" are:
      """
      {"plan": "enterprise", "seats": 250, "features": ["sso", "audit-log"], "trial": null}
      """

  Scenario: A slug that is taken is refused and nothing is written
    Given the organization "Acme Corp" is registered
    When the operator registers an organization named "Acme Corporation" with the slug "acme-corp"
    Then the request is refused with a Conflict mentioning "acme-corp"
    And the registered organizations are:
      | name      | slug      |
      | Acme Corp | acme-corp |

  Scenario: A derived slug that is taken is refused as well
    Given the organization "Acme Corp" is registered
    When the operator registers an organization named "ACME corp"
    Then the request is refused with a Conflict mentioning "acme-corp"
    And 1 organization is registered

  Scenario Outline: Bad input is refused, naming the field, and nothing is written
    When the operator registers an organization named "<name>" with the slug "<slug>"
    Then the request is refused with a ValidationError naming "<field>"
    And no organization is registered

    Examples:
      | name | slug       | field |
      |      | acme       | name  |
      | Acme | Bad Slug   | slug  |
      | Acme | ACME       | slug  |
      | Acme | acme_corp  | slug  |
      | Acme | acme--corp | slug  |
      | Acme | -acme      | slug  |
      | Acme | acme-      | slug  |
      | Acme |            | slug  |

  Scenario: A name with no letters or digits needs a slug of its own
    When the operator registers an organization named "!!!"
    Then the request is refused with a ValidationError naming "slug"
    And no organization is registered

  Scenario: A detail the operator cannot set is refused
    When the operator registers an organization named "Acme Corp" with the unexpected detail "colour"
    Then the request is refused with a ValidationError naming "colour"
    And no organization is registered

  Scenario: A long name still gets a well-formed slug
    When the operator registers an organization named 62 times "a" followed by " Group"
    Then the new organization has a well-formed slug of at most 63 characters

  Scenario: Several organizations are registered at once
    When the operator registers these organizations at once:
      | name               | slug   |
      | Acme Corp          |        |
      | Globex Corporation | globex |
      | Initech            |        |
    Then the registered organizations are:
      | name               | slug      | active |
      | Acme Corp          | acme-corp | yes    |
      | Globex Corporation | globex    | yes    |
      | Initech            | initech   | yes    |

  Scenario Outline: Registering at once is all or nothing
    Given the organization "Umbrella" is registered
    When the operator registers these organizations at once:
      | name      | slug   |
      | Acme Corp |        |
      | Globex    |        |
      | <name>    | <slug> |
    Then the request is refused with a <error>
    And the registered organizations are:
      | name     | slug     |
      | Umbrella | umbrella |

    Examples: one of them is refused
      | name                 | slug      | error           |
      | Umbrella Corporation | umbrella  | Conflict        |
      | Acme Corporation     | acme-corp | Conflict        |
      | Initech              | Bad Slug  | ValidationError |
      |                      | initech   | ValidationError |
