@memory
Feature: The latest value of a metric
  As an operator of the platform
  I want the current value of a gauge
  So that I can see the state of the platform now

  Background:
    Given it is "2026-01-01T09:00:00+00:00"
    And the tenant "Acme" measures its work

  Scenario: The last value set wins
    Given "Acme" sets the depth of the queue "jobs" to 12 at 09:00
    And "Acme" sets the depth of the queue "jobs" to 30 at 09:05
    And "Acme" sets the depth of the queue "jobs" to 4 at 09:10
    When "Acme" asks for the latest "queue_depth" of the queue "jobs"
    Then the latest value is 4

  Scenario: Across several series, the highest latest value
    Given "Acme" sets the depth of the queue "jobs" to 4 at 09:00
    And "Acme" sets the depth of the queue "mail" to 9 at 09:00
    When "Acme" asks for the latest "queue_depth"
    Then the latest value is 9

  Scenario: A metric never written has no latest value
    When "Acme" asks for the latest "queue_depth"
    Then there is no latest value

  Scenario: An invalid metric name is refused
    When "Acme" asks for the latest "queue-depth"
    Then the request is refused with a ValidationError naming "metric_name"
