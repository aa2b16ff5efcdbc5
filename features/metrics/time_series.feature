@memory
Feature: A metric's series over a time range
  As an operator of the platform
  I want a metric's values step by step over a range
  So that I can chart how it moved

  Background:
    Given it is "2026-01-01T09:00:00+00:00"
    And the tenant "Acme" measures its work

  Scenario: One value per step, the last one of each step
    Given "Acme" counts jobs done on the queue "fast" at these times:
      | at       | jobs |
      | 09:00:30 | 2    |
      | 09:00:50 | 1    |
      | 09:01:40 | 4    |
      | 09:03:10 | 1    |
    When "Acme" asks for "jobs_done_total" from 09:00 to 09:04 every minute
    Then the series is:
      | at    | value |
      | 09:01 | 3     |
      | 09:02 | 7     |
      | 09:04 | 8     |

  Scenario: Tags pick the series
    Given "Acme" counts jobs done on the queue "fast" at these times:
      | at       | jobs |
      | 09:00:30 | 5    |
    And "Acme" counts jobs done on the queue "slow" at these times:
      | at       | jobs |
      | 09:00:30 | 1    |
    When "Acme" asks for "jobs_done_total" with queue "slow" from 09:00 to 09:02 every minute
    Then the series is:
      | at    | value |
      | 09:01 | 1     |

  Scenario: Another tenant's series are not there
    Given "Acme" counts jobs done on the queue "fast" at these times:
      | at       | jobs |
      | 09:00:30 | 5    |
    And the tenant "Globex" measures its work
    When "Globex" asks for "jobs_done_total" from 09:00 to 09:02 every minute
    Then the series is empty

  Scenario: An empty range is refused
    When "Acme" asks for "jobs_done_total" from 09:02 to 09:02 every minute
    Then the request is refused with a ValidationError naming "range"
