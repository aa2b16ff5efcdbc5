@memory
Feature: Stopping workflows with kill switches
  As a platform operator
  I want to stop one workflow, or everything an organization runs, at once
  So that nothing more is taken in from a workflow that is doing damage until I release it

  Background:
    Given it is "2026-03-02T08:00:00+00:00"
    And the organization "Acme Corp" is registered
    And "Acme Corp" runs the workflow "nightly-settlement"
    And "Acme Corp" runs the workflow "invoice-sync"

  Scenario: A workflow's kill switch refuses that workflow's events, and nothing is written
    Given the operator "ops@acme" has stopped "nightly-settlement" because "bank maintenance window"
    When "nightly-settlement" reports a "settlement.failed" event with the key "run-1" and the error TIMEOUT "bank API timeout after 30s"
    Then the request is refused with a KillSwitchEngaged mentioning "bank maintenance window"
    And the refusal names the kill switch and the workflow "nightly-settlement"
    And "Acme Corp" has no event recorded
    And "Acme Corp" has no incident

  Scenario: The organization's other workflows go on
    Given the operator "ops@acme" has stopped "nightly-settlement" because "bank maintenance window"
    When "invoice-sync" reports a "sync.started" event with the key "run-1"
    Then the event is recorded as new
    And "Acme Corp" has 1 event recorded

  Scenario: A kill switch is active, and says who pulled it, when and why
    When the operator "ops@acme" stops "nightly-settlement" because "bank maintenance window"
    Then the kill switch is active on "nightly-settlement"
    And the kill switch was activated by "ops@acme" at "2026-03-02T08:00:00+00:00" because "bank maintenance window"

  Scenario: A tenant-wide kill switch refuses the events of every workflow
    Given the operator "ops@acme" has stopped everything "Acme Corp" runs because "security review"
    When "nightly-settlement" reports a "settlement.started" event with the key "run-1"
    Then the request is refused with a KillSwitchEngaged mentioning "security review"
    When "invoice-sync" reports a "sync.started" event with the key "run-2"
    Then the request is refused with a KillSwitchEngaged mentioning "security review"
    And "Acme Corp" has no event recorded

  Scenario: A tenant-wide kill switch stops one organization only
    Given the organization "Globex" is registered
    And "Globex" runs the workflow "payroll"
    And the operator "ops@acme" has stopped everything "Acme Corp" runs because "security review"
    When "payroll" reports a "payroll.started" event with the key "run-1"
    Then the event is recorded as new
    And "Globex" has 1 event recorded
    And "Acme Corp" has no event recorded

  Scenario: A batch with a stopped workflow's event is refused whole
    Given the operator "ops@acme" has stopped "nightly-settlement" because "bank maintenance window"
    When "nightly-settlement" reports these events at once:
      | key   | type               |
      | run-1 | settlement.started |
      | run-2 | settlement.failed  |
    Then the request is refused with a KillSwitchEngaged mentioning "bank maintenance window"
    And "Acme Corp" has no event recorded

  Scenario Outline: Releasing the switch lets events in again
    Given the operator "ops@acme" has stopped <what> because "maintenance"
    And 1 hour passes
    When the operator "oncall@acme" releases the kill switch
    Then the kill switch is released by "oncall@acme" at "2026-03-02T09:00:00+00:00"
    When "nightly-settlement" reports a "settlement.started" event with the key "run-1"
    Then the event is recorded as new
    And "Acme Corp" has 1 event recorded

    Examples:
      | what                        |
      | "nightly-settlement"        |
      | everything "Acme Corp" runs |

  Scenario Outline: Activating a switch that is already on returns the same switch
    Given the operator "ops@acme" has stopped <what> because "maintenance"
    When the operator "oncall@acme" stops <what> because "still broken"
    Then the same kill switch is returned
    And the kill switch was activated by "ops@acme" at "2026-03-02T08:00:00+00:00" because "maintenance"
    And "Acme Corp" has 1 active kill switch

    Examples:
      | what                        |
      | "nightly-settlement"        |
      | everything "Acme Corp" runs |

  Scenario: A workflow's own switch is separate from the tenant-wide one
    Given the operator "ops@acme" has stopped everything "Acme Corp" runs because "security review"
    And the operator "ops@acme" has stopped "nightly-settlement" because "bank maintenance window"
    When the operator "ops@acme" releases the tenant-wide kill switch
    Then "Acme Corp" has 1 active kill switch
    When "invoice-sync" reports a "sync.started" event with the key "run-1"
    Then the event is recorded as new
    When "nightly-settlement" reports a "settlement.started" event with the key "run-2"
    Then the request is refused with a KillSwitchEngaged mentioning "bank maintenance window"

  Scenario: After a release, stopping again pulls a new switch
    Given the operator "ops@acme" has stopped "nightly-settlement" because "maintenance"
    And the operator "ops@acme" has released the kill switch
    When the operator "ops@acme" stops "nightly-settlement" because "maintenance again"
    Then a different kill switch is returned
    And "Acme Corp" has 1 active kill switch

  Scenario: Releasing a switch twice is refused and leaves the first release as it was
    Given the operator "ops@acme" has stopped "nightly-settlement" because "maintenance"
    And the operator "ops@acme" has released the kill switch
    And 1 hour passes
    When the operator "oncall@acme" releases the kill switch
    Then the request is refused with an InvalidTransition mentioning "kill switch"
    And the kill switch is released by "ops@acme" at "2026-03-02T08:00:00+00:00"

  Scenario: A kill switch for a workflow that does not exist is refused
    When the operator "ops@acme" stops a workflow of "Acme Corp" that does not exist
    Then the request is refused with a NotFound mentioning "Workflow"
    And "Acme Corp" has no active kill switch

  Scenario: One organization can neither stop nor release another's workflow
    Given the organization "Globex" is registered
    And "Globex" runs the workflow "payroll"
    And the operator "ops@globex" has stopped "payroll" because "audit"
    When "Acme Corp" tries to stop "payroll"
    Then the request is refused with a NotFound mentioning "Workflow"
    When "Acme Corp" tries to release the kill switch
    Then the request is refused with a NotFound mentioning "KillSwitch"
    And the kill switch is active on "payroll"
