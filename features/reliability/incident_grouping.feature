@memory
Feature: Grouping failures into incidents
  As a platform operator
  I want the failures a workflow reports to be grouped by what went wrong
  So that a failure that repeats a hundred times is one incident to look at, not a hundred

  Background:
    Given it is "2026-03-02T08:00:00+00:00"
    And the organization "Acme Corp" is registered
    And "Acme Corp" runs the workflow "nightly-settlement"

  Scenario: Failures whose messages differ only in numbers are one incident
    When "nightly-settlement" reports these events, 10 minutes apart:
      | key   | type              | error code | error message                        |
      | run-1 | settlement.failed | TIMEOUT    | bank API timeout after 30s (req 123) |
      | run-2 | settlement.failed | TIMEOUT    | bank API timeout after 45s (req 9)   |
      | run-3 | settlement.failed | TIMEOUT    | bank API timeout after 12s (req 77)  |
    Then the events were grouped into incidents like this:
      | key   | incident |
      | run-1 | A        |
      | run-2 | A        |
      | run-3 | A        |
    And "Acme Corp" has these incidents:
      | title                                                   | status | events | first seen                | last seen                 |
      | settlement.failed: bank API timeout after 30s (req 123) | NEW    | 3      | 2026-03-02T08:00:00+00:00 | 2026-03-02T08:20:00+00:00 |

  Scenario Outline: What makes two failures the same
    When "nightly-settlement" reports these events:
      | key   | type     | error code | error message |
      | run-1 | <type 1> | <code 1>   | <message 1>   |
      | run-2 | <type 2> | <code 2>   | <message 2>   |
    Then "Acme Corp" has <count> open incidents

    Examples: the same failure
      | type 1            | code 1  | message 1                                     | type 2            | code 2  | message 2                                     | count |
      | settlement.failed | TIMEOUT | bank API timeout after 30s                    | settlement.failed | TIMEOUT | bank API timeout after 4500s                  | 1     |
      | settlement.failed | TIMEOUT | Bank API timeout after 30s                    | settlement.failed | TIMEOUT | bank api TIMEOUT after 30s                    | 1     |
      | settlement.failed | TIMEOUT | run 0b7e9f6c-2d1a-4c55-9e1f-3a6b8d2c4e10 hung | settlement.failed | TIMEOUT | run 5f3c1a2b-9d8e-4f7a-b6c5-1e2d3c4b5a69 hung | 1     |
      | settlement.failed | SEGV    | bad pointer 0x7ffd5e8c                        | settlement.failed | SEGV    | bad pointer 0x1a2b                            | 1     |

    Examples: different failures
      | type 1            | code 1  | message 1                  | type 2            | code 2  | message 2                  | count |
      | settlement.failed | TIMEOUT | bank API timeout after 30s | settlement.failed | REFUSED | bank API timeout after 30s | 2     |
      | settlement.failed | TIMEOUT | bank API timeout after 30s | settlement.failed | TIMEOUT | bank API refused the login | 2     |
      | settlement.failed | TIMEOUT | bank API timeout after 30s | settlement.error  | TIMEOUT | bank API timeout after 30s | 2     |

  Scenario: A different error code opens another incident
    When "nightly-settlement" reports these events:
      | key   | type              | error code | error message              |
      | run-1 | settlement.failed | TIMEOUT    | bank API timeout after 30s |
      | run-2 | settlement.failed | REFUSED    | bank API timeout after 30s |
      | run-3 | settlement.failed | TIMEOUT    | bank API timeout after 90s |
    Then the events were grouped into incidents like this:
      | key   | incident |
      | run-1 | A        |
      | run-2 | B        |
      | run-3 | A        |
    And "Acme Corp" has these incidents:
      | title                                         | status | events |
      | settlement.failed: bank API timeout after 30s | NEW    | 2      |
      | settlement.failed: bank API timeout after 30s | NEW    | 1      |

  Scenario: The same failure in two workflows is two incidents
    Given "Acme Corp" runs the workflow "invoice-sync"
    When "nightly-settlement" reports a "job.failed" event with the key "run-1" and the error TIMEOUT "upstream timeout"
    And "invoice-sync" reports a "job.failed" event with the key "run-2" and the error TIMEOUT "upstream timeout"
    Then the events were grouped into incidents like this:
      | key   | incident |
      | run-1 | A        |
      | run-2 | B        |
    And "Acme Corp" has 2 open incidents

  Scenario Outline: After its incident is closed, the same failure opens a new incident
    Given "nightly-settlement" has reported a "settlement.failed" event with the key "run-1" and the error TIMEOUT "bank API timeout after 30s"
    And the incident has gone through "<path>"
    And 1 hour passes
    When "nightly-settlement" reports a "settlement.failed" event with the key "run-2" and the error TIMEOUT "bank API timeout after 45s"
    Then the events were grouped into incidents like this:
      | key   | incident |
      | run-1 | A        |
      | run-2 | B        |
    And "Acme Corp" has these incidents:
      | status   | events | first seen                | last seen                 |
      | <closed> | 1      | 2026-03-02T08:00:00+00:00 | 2026-03-02T08:00:00+00:00 |
      | NEW      | 1      | 2026-03-02T09:00:00+00:00 | 2026-03-02T09:00:00+00:00 |

    Examples:
      | path                               | closed   |
      | NEW, RESOLVED                      | RESOLVED |
      | NEW, ANALYZING, ACTIONED, RESOLVED | RESOLVED |
      | NEW, IGNORED                       | IGNORED  |

  Scenario Outline: While its incident is open, the same failure joins it
    Given "nightly-settlement" has reported a "settlement.failed" event with the key "run-1" and the error TIMEOUT "bank API timeout after 30s"
    And the incident has gone through "<path>"
    And 1 hour passes
    When "nightly-settlement" reports a "settlement.failed" event with the key "run-2" and the error TIMEOUT "bank API timeout after 45s"
    Then the events were grouped into incidents like this:
      | key   | incident |
      | run-1 | A        |
      | run-2 | A        |
    And "Acme Corp" has these incidents:
      | status   | events | first seen                | last seen                 |
      | <status> | 2      | 2026-03-02T08:00:00+00:00 | 2026-03-02T09:00:00+00:00 |

    Examples:
      | path                     | status    |
      | NEW, ANALYZING           | ANALYZING |
      | NEW, ANALYZING, ACTIONED | ACTIONED  |

  Scenario: A failure that happened earlier than the incident's first one moves its first seen back
    When "nightly-settlement" reports these events:
      | key   | type              | error code | error message              | occurred at               |
      | run-2 | settlement.failed | TIMEOUT    | bank API timeout after 30s | 2026-03-02T07:30:00+00:00 |
      | run-3 | settlement.failed | TIMEOUT    | bank API timeout after 31s | 2026-03-02T07:45:00+00:00 |
      | run-1 | settlement.failed | TIMEOUT    | bank API timeout after 29s | 2026-03-02T07:00:00+00:00 |
    Then "Acme Corp" has these incidents:
      | events | first seen                | last seen                 |
      | 3      | 2026-03-02T07:00:00+00:00 | 2026-03-02T07:45:00+00:00 |

  Scenario Outline: Events that report no failure open no incident
    When "nightly-settlement" reports a "<type>" event with the key "run-1" and the payload:
      """
      <payload>
      """
    Then the event is recorded as new
    And the report joined no incident
    And "Acme Corp" has no incident

    Examples:
      | type                 | payload                        |
      | settlement.started   | {}                             |
      | settlement.completed | {"rows": 1200}                 |
      | settlement.retried   | {"attempt": 2, "reason": "ok"} |

  Scenario Outline: Events that report a failure open an incident, by their type or their payload
    When "nightly-settlement" reports a "<type>" event with the key "run-1" and the payload:
      """
      <payload>
      """
    Then the event is recorded as new
    And "Acme Corp" has these incidents:
      | title   | status | events |
      | <title> | NEW    | 1      |
    And the report joined that incident

    Examples:
      | type                 | payload                                          | title                                 |
      | settlement.failed    | {}                                               | settlement.failed                     |
      | settlement.error     | {}                                               | settlement.error                      |
      | settlement.timeout   | {"after_s": 30}                                  | settlement.timeout                    |
      | settlement.completed | {"error": "3 rows rejected"}                     | settlement.completed: 3 rows rejected |
      | settlement.completed | {"error_code": "PARTIAL"}                        | settlement.completed                  |
      | settlement.completed | {"error": {"code": "E42", "message": "bad row"}} | settlement.completed: bad row         |

  Scenario: The incident takes the severity of the failure that opened it
    When "nightly-settlement" reports these events:
      | key   | type              | error code | error message              | severity |
      | run-1 | settlement.failed | TIMEOUT    | bank API timeout after 30s | critical |
      | run-2 | settlement.failed | TIMEOUT    | bank API timeout after 45s | low      |
      | run-3 | settlement.failed | REFUSED    | login refused              | low      |
    Then "Acme Corp" has these incidents:
      | title                                         | severity | events |
      | settlement.failed: bank API timeout after 30s | critical | 2      |
      | settlement.failed: login refused              | low      | 1      |

  Scenario: A failure reported without a severity opens a medium incident
    When "nightly-settlement" reports a "settlement.failed" event with the key "run-1" and the error TIMEOUT "bank API timeout after 30s"
    Then "Acme Corp" has these incidents:
      | severity | events |
      | medium   | 1      |

  Scenario: A batch groups its failures as one by one reporting does
    When "nightly-settlement" reports these events at once:
      | key   | type              | error code | error message              | severity |
      | run-1 | settlement.failed | TIMEOUT    | bank API timeout after 30s | high     |
      | run-2 | settlement.failed | REFUSED    | login refused              | low      |
      | run-3 | settlement.failed | TIMEOUT    | bank API timeout after 45s | low      |
    Then the batch was answered with:
      | key   | recorded | incident |
      | run-1 | new      | A        |
      | run-2 | new      | B        |
      | run-3 | new      | A        |
    And "Acme Corp" has these incidents:
      | title                                         | severity | events |
      | settlement.failed: bank API timeout after 30s | high     | 2      |
      | settlement.failed: login refused              | low      | 1      |
