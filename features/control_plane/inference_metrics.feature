@memory
Feature: Inference metrics over a date range
  As an organization's finance and reliability owner
  I want the requests, cost, latency and error rate of a period
  So that I can see what the models cost and how well they served

  Background:
    Given it is "2026-03-02T08:00:00+00:00"
    And the organization "Acme Corp" is registered
    And "Acme Corp" has the application "chat"
    And "chat" of "Acme Corp" made these inference requests:
      | at                        | model  | status    | latency_ms | cost_cents |
      | 2026-03-01T23:59:59+00:00 | gpt-4o | completed | 9000       | 900        |
      | 2026-03-02T00:00:00+00:00 | gpt-4o | completed | 100        | 10         |
      | 2026-03-02T06:00:00+00:00 | gpt-4o | completed | 300        | 30         |
      | 2026-03-02T12:00:00+00:00 | claude | failed    | 200        | 0          |
      | 2026-03-02T18:00:00+00:00 | claude | completed | 400        | 40         |
      | 2026-03-03T00:00:00+00:00 | claude | completed | 9000       | 900        |

  Scenario: The metrics of one day
    When the metrics of "Acme Corp" from "2026-03-02T00:00:00+00:00" to "2026-03-03T00:00:00+00:00" are asked for
    Then they show 4 requests costing 80 cents
    And an average latency of 250.0 ms and a 95th percentile of 400.0 ms
    And an error rate of 0.25

  Scenario: A range with no request shows zeros
    When the metrics of "Acme Corp" from "2026-04-01T00:00:00+00:00" to "2026-04-02T00:00:00+00:00" are asked for
    Then they show 0 requests costing 0 cents
    And an average latency of 0.0 ms and a 95th percentile of 0.0 ms
    And an error rate of 0.0

  Scenario: Another organization's requests do not count
    Given the organization "Globex" is registered
    And "Globex" has the application "chat"
    And "chat" of "Globex" made these inference requests:
      | at                        | model  | status | latency_ms | cost_cents |
      | 2026-03-02T10:00:00+00:00 | gpt-4o | failed | 50000      | 5000       |
    When the metrics of "Acme Corp" from "2026-03-02T00:00:00+00:00" to "2026-03-03T00:00:00+00:00" are asked for
    Then they show 4 requests costing 80 cents
