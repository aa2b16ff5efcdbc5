@memory
Feature: Ingesting each event once
  As a platform operator
  I want every event a workflow reports to be recorded once, however often it is delivered
  So that retried deliveries neither count work twice nor open incidents twice

  Background:
    Given it is "2026-03-02T08:00:00+00:00"
    And the organization "Acme Corp" is registered
    And "Acme Corp" runs the workflow "nightly-settlement"

  Scenario: An event with a new key is recorded
    When "nightly-settlement" reports a "settlement.started" event with the key "run-1"
    Then the event is recorded as new
    And "Acme Corp" has 1 event recorded

  Scenario: The same key again returns the first event and changes nothing
    Given "nightly-settlement" has reported a "settlement.failed" event with the key "run-1"
    And 10 minutes pass
    When "nightly-settlement" reports a "settlement.failed" event with the key "run-1"
    Then the event is taken for the one first recorded under the key "run-1"
    And the report joined no incident
    And "Acme Corp" has 1 event recorded
    And "Acme Corp" has these incidents:
      | title             | events | first seen                | last seen                 |
      | settlement.failed | 1      | 2026-03-02T08:00:00+00:00 | 2026-03-02T08:00:00+00:00 |

  Scenario: The same key with a different payload still returns the first event
    Given "nightly-settlement" has reported a "settlement.completed" event with the key "run-1" and the payload:
      """
      {"rows": 1200}
      """
    When "nightly-settlement" reports a "settlement.completed" event with the key "run-1" and the payload:
      """
      {"rows": 999, "error": {"code": "PARTIAL", "message": "201 rows rejected"}}
      """
    Then the event is taken for the one first recorded under the key "run-1"
    And the event recorded under the key "run-1" has the payload:
      """
      {"rows": 1200}
      """
    And "Acme Corp" has 1 event recorded
    And "Acme Corp" has no incident

  Scenario: The same key in another organization is a separate event
    Given the organization "Globex" is registered
    And "Globex" runs the workflow "invoice-sync"
    And "nightly-settlement" has reported a "settlement.started" event with the key "run-1"
    When "invoice-sync" reports a "sync.started" event with the key "run-1"
    Then the event is recorded as new
    And the events recorded under the key "run-1" are 2 different events
    And "Acme Corp" has 1 event recorded
    And "Globex" has 1 event recorded

  Scenario: An event for a workflow that does not exist is refused and nothing is written
    When "Acme Corp" reports a "settlement.failed" event with the key "run-1" for a workflow that does not exist
    Then the request is refused with a NotFound mentioning "Workflow"
    And "Acme Corp" has no event recorded
    And "Acme Corp" has no incident

  Scenario: An event for another organization's workflow is refused as not found
    Given the organization "Globex" is registered
    And "Globex" runs the workflow "invoice-sync"
    When "Acme Corp" reports a "sync.failed" event with the key "run-1" for the workflow "invoice-sync"
    Then the request is refused with a NotFound mentioning "Workflow"
    And "Acme Corp" has no event recorded
    And "Globex" has no event recorded

  Scenario: An event for a paused workflow is refused, naming the workflow, and nothing is written
    Given the workflow "nightly-settlement" has been paused
    When "nightly-settlement" reports a "settlement.failed" event with the key "run-1"
    Then the request is refused with a ValidationError naming "workflow_id"
    And "Acme Corp" has no event recorded
    And "Acme Corp" has no incident

  Scenario: A key refused while its workflow was paused can be delivered again later
    Given the workflow "nightly-settlement" has been paused
    And "nightly-settlement" has tried to report a "settlement.failed" event with the key "run-1"
    And the workflow "nightly-settlement" has been resumed
    When "nightly-settlement" reports a "settlement.failed" event with the key "run-1"
    Then the event is recorded as new
    And "Acme Corp" has 1 event recorded
    And "Acme Corp" has 1 incident

  Scenario Outline: Bad details are refused, naming the field, and nothing is written
    When "nightly-settlement" reports an event with:
      | type     | <type>     |
      | key      | <key>      |
      | severity | <severity> |
    Then the request is refused with a ValidationError naming "<field>"
    And "Acme Corp" has no event recorded

    Examples:
      | type               | key   | severity | field           |
      | settlement.started |       | medium   | idempotency_key |
      | settlement started | run-1 | medium   | event_type      |
      |                    | run-1 | medium   | event_type      |
      | settlement.failed  | run-1 | urgent   | severity        |

  Scenario: A key of blanks or of more than 255 characters is refused
    When "nightly-settlement" reports a "settlement.started" event with a key of 3 spaces
    Then the request is refused with a ValidationError naming "idempotency_key"
    When "nightly-settlement" reports a "settlement.started" event with a key of 256 characters
    Then the request is refused with a ValidationError naming "idempotency_key"
    When "nightly-settlement" reports a "settlement.started" event with a key of 255 characters
    Then the event is recorded as new
    And "Acme Corp" has 1 event recorded

  Scenario: A batch with repeated keys records each key once
    Given "nightly-settlement" has reported a "settlement.started" event with the key "run-1"
    When "nightly-settlement" reports these events at once:
      | key   | type               | error code | error message              |
      | run-1 | settlement.started |            |                            |
      | run-2 | settlement.failed  | TIMEOUT    | bank API timeout after 30s |
      | run-2 | settlement.failed  | TIMEOUT    | bank API timeout after 30s |
      | run-3 | settlement.failed  | TIMEOUT    | bank API timeout after 45s |
      | run-4 | settlement.started |            |                            |
    Then the batch was answered with:
      | key   | recorded  | incident |
      | run-1 | duplicate | none     |
      | run-2 | new       | A        |
      | run-2 | duplicate | none     |
      | run-3 | new       | A        |
      | run-4 | new       | none     |
    And every duplicate in the batch is the event first recorded under its key
    And "Acme Corp" has 4 events recorded
    And "Acme Corp" has these incidents:
      | title                                         | status | events |
      | settlement.failed: bank API timeout after 30s | NEW    | 2      |

  Scenario: A batch that names a workflow that does not exist is refused whole
    When "nightly-settlement" reports these events at once, the last for a workflow that does not exist:
      | key   | type               |
      | run-1 | settlement.started |
      | run-2 | settlement.failed  |
    Then the request is refused with a NotFound mentioning "Workflow"
    And "Acme Corp" has no event recorded
    And "Acme Corp" has no incident

  Scenario: A batch holds the events of one organization only
    Given the organization "Globex" is registered
    And "Globex" runs the workflow "invoice-sync"
    When the events "run-1" of "nightly-settlement" and "run-2" of "invoice-sync" are reported at once
    Then the request is refused with a ValidationError naming "tenant_id"
    And "Acme Corp" has no event recorded
    And "Globex" has no event recorded
