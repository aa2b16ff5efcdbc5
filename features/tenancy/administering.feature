@memory
Feature: Administering an organization
  As a platform operator
  I want to rename, deactivate, reconfigure and remove organizations
  Without overwriting a change another operator made since I read the organization

  Background:
    Given the organization "Acme Corp" is registered

  Scenario: Renaming with the version that was read
    Given an hour passes
    When the operator renames "Acme Corp" to "Acme Corporation" with version 1
    Then the organization "Acme Corp" is named "Acme Corporation" at version 2
    And the slug of "Acme Corp" is still "acme-corp"
    And "Acme Corp" was last changed an hour after it was registered

  Scenario: Renaming with a stale version is refused
    Given another operator has renamed "Acme Corp" to "Acme Inc"
    When the operator renames "Acme Corp" to "Acme Corporation" with version 1
    Then the request is refused with a ConcurrencyConflict
    And the organization "Acme Corp" is named "Acme Inc" at version 2

  Scenario Outline: A bad change is refused, naming the field, and nothing changes
    When the operator renames "Acme Corp" to "<name>" with version <version>
    Then the request is refused with a ValidationError naming "<field>"
    And the organization "Acme Corp" is named "Acme Corp" at version 1

    Examples:
      | name             | version | field            |
      |                  | 1       | name             |
      | Acme Corporation | 0       | expected_version |

  Scenario: Deactivating and reactivating
    When the operator deactivates "Acme Corp" with version 1
    Then the organization "Acme Corp" is inactive at version 2
    When the operator reactivates "Acme Corp" with version 2
    Then the organization "Acme Corp" is active at version 3

  Scenario: Replacing the settings
    Given the settings of "Acme Corp" have been set to:
      """
      {"plan": "free", "seats": 5}
      """
    When the operator replaces the settings of "Acme Corp" at version 2 with:
      """
      {"plan": "pro", "billing": {"currency": "EUR"}}
      """
    Then the settings of "Acme Corp" are:
      """
      {"plan": "pro", "billing": {"currency": "EUR"}}
      """
    And the organization "Acme Corp" is active at version 3

  Scenario: Several changes at once make a single new version
    When the operator changes "Acme Corp" at version 1:
      | name     | Acme Corporation |
      | active   | no               |
      | settings | {"plan": "pro"}  |
    Then the organization "Acme Corp" is named "Acme Corporation" at version 2
    And the organization "Acme Corp" is inactive at version 2
    And the settings of "Acme Corp" are:
      """
      {"plan": "pro"}
      """

  Scenario: Changing an organization that does not exist
    When the operator renames an organization that does not exist to "Ghost Corp"
    Then the request is refused with a NotFound
    And 1 organization is registered

  Scenario: Removing an organization
    When the operator removes "Acme Corp"
    Then the organization "Acme Corp" no longer exists
    And no organization is registered

  Scenario: Removing with the version that was read
    When the operator removes "Acme Corp" at version 1
    Then the organization "Acme Corp" no longer exists

  Scenario: Removing with a stale version is refused
    Given another operator has renamed "Acme Corp" to "Acme Inc"
    When the operator removes "Acme Corp" at version 1
    Then the request is refused with a ConcurrencyConflict
    And the organization "Acme Corp" is named "Acme Inc" at version 2

  Scenario: Removing an organization twice
    Given the organization "Acme Corp" has been removed
    When the operator removes "Acme Corp"
    Then the request is refused with a NotFound

  Scenario: The slug of a removed organization is free again
    Given the organization "Acme Corp" has been removed
    When the operator registers an organization named "Acme Corp"
    Then the organization "Acme Corp" is registered with the slug "acme-corp"
    And 1 organization is registered

  Scenario: Looking an organization up by something that is not an id
    When the operator looks up the organization with the id "acme-corp"
    Then the request is refused with a ValidationError naming "tenant_id"
