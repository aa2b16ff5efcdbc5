@memory
Feature: Guarding calls to vendors with a circuit breaker and a rate limit
  As a platform operator
  I want workflows to stop calling a vendor that keeps failing, and to call each vendor at most so often
  So that a failing vendor gets time to recover and no vendor is flooded

  Background:
    Given it is "2026-03-02T08:00:00+00:00"
    And the vendor "bank-api" opens its breaker after 3 consecutive failures for 30 seconds and takes 100 calls a minute

  Scenario: A new vendor's breaker is closed and lets calls through
    When a workflow asks to call "bank-api"
    Then the answers were:
      | allowed | reason | breaker | calls this minute |
      | yes     | ok     | CLOSED  | 1                 |
    And the breaker of "bank-api" is CLOSED with 0 consecutive failures counted

  Scenario: The breaker stays closed below the threshold
    When 2 calls to "bank-api" fail
    Then the breaker of "bank-api" is CLOSED with 2 consecutive failures counted
    When a workflow asks to call "bank-api"
    Then the call is admitted as "ok"

  Scenario Outline: The breaker opens at the threshold of consecutive failures
    Given the vendor "<vendor>" opens its breaker after <threshold> consecutive failures for 60 seconds and takes 100 calls a minute
    When <before> calls to "<vendor>" fail
    Then the breaker of "<vendor>" is CLOSED with <before> consecutive failures counted
    When 1 call to "<vendor>" fails
    Then the breaker of "<vendor>" is OPEN with <threshold> consecutive failures counted

    Examples:
      | vendor      | threshold | before |
      | sms-gateway | 1         | 0      |
      | ledger-api  | 5         | 4      |

  Scenario: A success resets the count of consecutive failures
    When the calls to "bank-api" end in: failure, failure, success, failure, failure
    Then the breaker of "bank-api" is CLOSED with 2 consecutive failures counted
    When 1 call to "bank-api" fails
    Then the breaker of "bank-api" is OPEN with 3 consecutive failures counted

  Scenario: An open breaker refuses calls, and a refused call is not counted
    Given the breaker of "bank-api" has opened
    When workflows ask to call "bank-api" 2 times
    Then the answers were:
      | allowed | reason       | breaker | calls this minute |
      | no      | circuit open | OPEN    | 0                 |
      | no      | circuit open | OPEN    | 0                 |
    And the breaker of "bank-api" is OPEN

  Scenario: Until the cool-down is over, calls are still refused
    Given the breaker of "bank-api" has opened
    And 29 seconds pass
    When a workflow asks to call "bank-api"
    Then the call is refused because "circuit open"
    And the breaker of "bank-api" is OPEN

  Scenario: After the cool-down exactly one trial call is admitted
    Given the breaker of "bank-api" has opened
    And 30 seconds pass
    When workflows ask to call "bank-api" 3 times
    Then the answers were:
      | allowed | reason          | breaker   | calls this minute |
      | yes     | trial call      | HALF_OPEN | 1                 |
      | no      | trial in flight | HALF_OPEN | 1                 |
      | no      | trial in flight | HALF_OPEN | 1                 |
    And the breaker of "bank-api" is HALF_OPEN

  Scenario: A trial call that succeeds closes the breaker
    Given the breaker of "bank-api" has opened
    And 30 seconds pass
    And a workflow has been admitted to make the trial call to "bank-api"
    When 1 call to "bank-api" succeeds
    Then the breaker of "bank-api" is CLOSED with 0 consecutive failures counted
    When workflows ask to call "bank-api" 2 times
    Then the answers were:
      | allowed | reason | breaker | calls this minute |
      | yes     | ok     | CLOSED  | 2                 |
      | yes     | ok     | CLOSED  | 3                 |

  Scenario: A trial call that fails opens the breaker again, for another cool-down
    Given the breaker of "bank-api" has opened
    And 30 seconds pass
    And a workflow has been admitted to make the trial call to "bank-api"
    When 1 call to "bank-api" fails
    Then the breaker of "bank-api" is OPEN
    When 29 seconds pass
    And a workflow asks to call "bank-api"
    Then the call is refused because "circuit open"
    When 1 second passes
    And a workflow asks to call "bank-api"
    Then the call is admitted as "trial call"

  Scenario: A success reported while the breaker is open leaves it open
    Given the breaker of "bank-api" has opened
    When 1 call to "bank-api" succeeds
    Then the breaker of "bank-api" is OPEN with 3 consecutive failures counted
    When a workflow asks to call "bank-api"
    Then the call is refused because "circuit open"

  Scenario: The call beyond the per-minute limit is refused
    Given the vendor "sms-gateway" opens its breaker after 5 consecutive failures for 60 seconds and takes 3 calls a minute
    When workflows ask to call "sms-gateway" 4 times
    Then the answers were:
      | allowed | reason     | breaker | calls this minute |
      | yes     | ok         | CLOSED  | 1                 |
      | yes     | ok         | CLOSED  | 2                 |
      | yes     | ok         | CLOSED  | 3                 |
      | no      | rate limit | CLOSED  | 4                 |

  Scenario: A new minute starts a new count
    Given it is "2026-03-02T08:00:45+00:00"
    And the vendor "sms-gateway" opens its breaker after 5 consecutive failures for 60 seconds and takes 3 calls a minute
    And workflows have asked to call "sms-gateway" 4 times
    When 15 seconds pass
    And workflows ask to call "sms-gateway" 4 times
    Then the answers were:
      | allowed | reason     | breaker | calls this minute |
      | yes     | ok         | CLOSED  | 1                 |
      | yes     | ok         | CLOSED  | 2                 |
      | yes     | ok         | CLOSED  | 3                 |
      | no      | rate limit | CLOSED  | 4                 |

  Scenario: The limit counts calls within the clock minute, not the last sixty seconds
    Given it is "2026-03-02T08:00:59+00:00"
    And the vendor "sms-gateway" opens its breaker after 5 consecutive failures for 60 seconds and takes 3 calls a minute
    And workflows have asked to call "sms-gateway" 3 times
    When 1 second passes
    And a workflow asks to call "sms-gateway"
    Then the call is admitted as "ok"

  Scenario: Each vendor has a count of its own
    Given the vendor "sms-gateway" opens its breaker after 5 consecutive failures for 60 seconds and takes 3 calls a minute
    And workflows have asked to call "sms-gateway" 4 times
    When a workflow asks to call "bank-api"
    Then the call is admitted as "ok"

  Scenario Outline: Vendor settings out of range are refused, naming the field
    When the operator registers the vendor "fax-api" with <setting> set to <value>
    Then the request is refused with a ValidationError naming "<setting>"

    Examples:
      | setting               | value |
      | failure_threshold     | 0     |
      | cool_down_seconds     | 0     |
      | rate_limit_per_minute | 0     |
      | rate_limit_per_minute | -5    |

  Scenario: A vendor name is taken once
    When the operator registers the vendor "bank-api" with failure_threshold set to 2
    Then the request is refused with a Conflict mentioning "bank-api"

  Scenario: Asking to call a vendor that does not exist is refused
    When a workflow asks to call a vendor that does not exist
    Then the request is refused with a NotFound mentioning "Vendor"
