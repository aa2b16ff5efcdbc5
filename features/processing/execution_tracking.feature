@memory
Feature: Tracking an execution of a processor
  As the processing engine
  I want every execution to go pending, running, then completed with its result or failed with its reason
  So that what ran, when, at what cost and with what outcome is on record, and no execution skips or repeats a step

  Background:
    Given it is "2026-03-02T08:00:00+00:00"
    And the organization "Acme Corp" is registered
    And "Acme Corp" has bought "p_bank_statement"
    And "Acme Corp" uses "p_bank_statement" in the underwriting "UW-1"

  Scenario: A submitted execution is pending
    When the payload is submitted to "p_bank_statement" in "UW-1" as "A" with the documents "rev_001, rev_002":
      """
      {"documents": [{"type": "bank_statement", "id": "doc-1"}, {"type": "bank_statement", "id": "doc-2"}]}
      """
    Then the submission is answered "created"
    And the execution "A" is of "p_bank_statement" in "UW-1" for "Acme Corp"
    And the execution "A" has:
      | field        | value                     |
      | status       | pending                   |
      | enabled      | yes                       |
      | created at   | 2026-03-02T08:00:00+00:00 |
      | started at   |                           |
      | completed at |                           |
      | run cost     |                           |
    And the execution "A" has the document revisions "rev_001, rev_002"
    And the execution "A" has the payload:
      """
      {"documents": [{"type": "bank_statement", "id": "doc-1"}, {"type": "bank_statement", "id": "doc-2"}]}
      """
    And "p_bank_statement" in "UW-1" has 1 execution
    And "p_bank_statement" in "UW-1" has no current executions

  Scenario: Starting an execution puts it running and records when
    Given the execution "A" of "p_bank_statement" in "UW-1" is pending
    And 5 minutes pass
    When the execution "A" is started
    Then the execution "A" has:
      | field        | value                     |
      | status       | running                   |
      | started at   | 2026-03-02T08:05:00+00:00 |
      | completed at |                           |

  Scenario: Completing an execution records its output, factors delta and cost
    Given the execution "A" of "p_bank_statement" in "UW-1" is running
    And 10 minutes pass
    When the execution "A" completes at a cost of 50 cents with the factors delta {"f_avg_revenue": 45000.0} and the output:
      """
      {"monthly_revenues": [45000.0], "nsf_count": 0}
      """
    Then the execution "A" has:
      | field        | value                     |
      | status       | completed                 |
      | started at   | 2026-03-02T08:00:00+00:00 |
      | completed at | 2026-03-02T08:10:00+00:00 |
      | run cost     | 50                        |
      | failed code  |                           |
    And the execution "A" has the output {"monthly_revenues": [45000.0], "nsf_count": 0}
    And the execution "A" has the factors delta {"f_avg_revenue": 45000.0}
    And "p_bank_statement" in "UW-1" has the current executions "A"

  Scenario: Failing an execution records its code and reason
    Given the execution "A" of "p_bank_statement" in "UW-1" is running
    And 2 minutes pass
    When the execution "A" fails with "BANK_API_TIMEOUT" because "bank API timeout after 30s"
    Then the execution "A" has:
      | field         | value                      |
      | status        | failed                     |
      | completed at  | 2026-03-02T08:02:00+00:00  |
      | failed code   | BANK_API_TIMEOUT           |
      | failed reason | bank API timeout after 30s |
      | run cost      |                            |
    And the execution "A" has no output
    And "p_bank_statement" in "UW-1" has no current executions

  Scenario: A negative cost is refused
    Given the execution "A" of "p_bank_statement" in "UW-1" is running
    When the execution "A" completes at a cost of -1 cents with the factors delta {} and the output:
      """
      {"monthly_revenues": []}
      """
    Then the request is refused with a ValidationError naming "run_cost_cents"
    And the execution "A" is still running and unchanged

  Scenario Outline: Illegal moves of an execution are refused, naming from and to, and change nothing
    Given the execution "A" of "p_bank_statement" in "UW-1" is <state>
    And 1 minute passes
    When the execution "A" <move>
    Then the request is refused with an InvalidTransition from "<state>" to "<to>"
    And the execution "A" is still <state> and unchanged

    Examples:
      | state     | move               | to        |
      | pending   | completes          | completed |
      | pending   | fails              | failed    |
      | running   | is started         | running   |
      | completed | is started         | running   |
      | completed | completes          | completed |
      | completed | fails              | failed    |
      | failed    | is started         | running   |
      | failed    | completes          | completed |
      | failed    | fails              | failed    |

  Scenario Outline: Another organization's executions and processors are missing to it, and stay as they are
    Given the organization "Globex" is registered
    And the execution "A" of "p_bank_statement" in "UW-1" is <state>
    And the execution "B" of "p_bank_statement" in "UW-1" is completed
    When "Globex" tries to <request>
    Then the request is refused with a NotFound
    And the execution "A" is still <state> and unchanged
    And "p_bank_statement" in "UW-1" has 2 executions

    Examples:
      | state     | request                                                        |
      | pending   | start the execution "A"                                        |
      | running   | complete the execution "A"                                     |
      | running   | fail the execution "A"                                         |
      | completed | supersede the execution "A" with "B"                           |
      | completed | roll back the supersession of "A"                              |
      | completed | submit a payload to "p_bank_statement" in "UW-1"               |
      | completed | consolidate the factors of "p_bank_statement" in "UW-1"        |
      | completed | read the effective configuration of "p_bank_statement" in "UW-1" |
