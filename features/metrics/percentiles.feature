@memory
Feature: Percentiles of a histogram
  As an operator of the platform
  I want the 95th percentile of request latencies over a range
  So that I know how slow the slow requests were

  Background:
    Given it is "2026-01-01T09:00:00+00:00"
    And the tenant "Acme" measures its work
    And request latencies are counted in buckets of 0.1, 0.25, 0.5 and 1 seconds

  Scenario: p95 interpolates inside the bucket it falls in
    Given "Acme" observes these request latencies between 09:00 and 09:05:
      | seconds | requests |
      | 0.05    | 60       |
      | 0.2     | 30       |
      | 0.4     | 10       |
    When "Acme" asks for the p95 of "request_seconds" from 09:00 to 09:10
    # rank 95 of 100 falls in (0.25, 0.5], 5 of its 10 observations in
    Then the percentile is 0.375

  Scenario: Only what was observed in the range counts
    Given "Acme" observes these request latencies between 09:00 and 09:05:
      | seconds | requests |
      | 0.05    | 100      |
    And "Acme" observes these request latencies between 09:20 and 09:25:
      | seconds | requests |
      | 0.7     | 100      |
    When "Acme" asks for the p95 of "request_seconds" from 09:15 to 09:30
    Then the percentile is 0.975

  Scenario: No observation in the range, no percentile
    When "Acme" asks for the p95 of "request_seconds" from 09:00 to 09:10
    Then there is no percentile

  Scenario Outline: A percentile outside (0, 100) is refused
    When "Acme" asks for the p<percentile> of "request_seconds" from 09:00 to 09:10
    Then the request is refused with a ValidationError naming "percentile"

    Examples:
      | percentile |
      | 0          |
      | 100        |
      | 250        |
