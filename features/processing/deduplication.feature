@memory
Feature: Submitting a payload once
  As the processing engine
  I want a payload already run, or running, for a processor in an underwriting to be answered with that execution
  So that nothing is paid for or computed twice, and only a failed run is tried again

  Background:
    Given it is "2026-03-02T08:00:00+00:00"
    And the organization "Acme Corp" is registered
    And "Acme Corp" has bought "p_bank_statement"
    And "Acme Corp" uses "p_bank_statement" in the underwriting "UW-1"
    And the payload has been submitted to "p_bank_statement" in "UW-1" as "A":
      """
      {"month": "2026-01", "documents": [{"type": "bank_statement", "id": "doc-1"}]}
      """

  Scenario: The same payload, its keys in another order, reuses a completed execution
    Given the execution "A" has been started
    And the execution "A" has completed with the output {"monthly_revenues": [45000.0]}
    When the payload is submitted to "p_bank_statement" in "UW-1" as "B":
      """
      {"documents": [{"id": "doc-1", "type": "bank_statement"}], "month": "2026-01"}
      """
    Then the submission is answered "reused" with the execution "A"
    And the execution "A" has the output {"monthly_revenues": [45000.0]}
    And "p_bank_statement" in "UW-1" has 1 execution

  Scenario Outline: The same payload while its execution is <state> returns that execution to wait for
    Given the execution "A" has been taken to <state>
    When the payload is submitted to "p_bank_statement" in "UW-1" as "B":
      """
      {"documents": [{"type": "bank_statement", "id": "doc-1"}], "month": "2026-01"}
      """
    Then the submission is answered "in_progress" with the execution "A"
    And the execution "A" is <state>
    And "p_bank_statement" in "UW-1" has 1 execution

    Examples:
      | state   |
      | pending |
      | running |

  Scenario: The same payload after a failed execution is retried as a new execution
    Given the execution "A" has been taken to running
    And the execution "A" has failed with "BANK_API_TIMEOUT" because "bank API timeout after 30s"
    And 1 minute passes
    When the payload is submitted to "p_bank_statement" in "UW-1" as "B":
      """
      {"month": "2026-01", "documents": [{"type": "bank_statement", "id": "doc-1"}]}
      """
    Then the submission is answered "retried" with a new execution
    And the execution "B" has:
      | field      | value                     |
      | status     | pending                   |
      | created at | 2026-03-02T08:01:00+00:00 |
    And the execution "A" is failed
    And the executions "A" and "B" have the same payload hash
    And "p_bank_statement" in "UW-1" has 2 executions

  Scenario: The retry, not the failed execution, answers the next submission of the payload
    Given the execution "A" has been taken to running
    And the execution "A" has failed with "BANK_API_TIMEOUT" because "bank API timeout after 30s"
    And the payload has been submitted to "p_bank_statement" in "UW-1" as "B":
      """
      {"month": "2026-01", "documents": [{"type": "bank_statement", "id": "doc-1"}]}
      """
    When the payload is submitted to "p_bank_statement" in "UW-1" as "C":
      """
      {"month": "2026-01", "documents": [{"type": "bank_statement", "id": "doc-1"}]}
      """
    Then the submission is answered "in_progress" with the execution "B"
    And "p_bank_statement" in "UW-1" has 2 executions

  Scenario Outline: A different payload is a new execution
    Given the execution "A" has been taken to <state>
    When the payload is submitted to "p_bank_statement" in "UW-1" as "B":
      """
      <payload>
      """
    Then the submission is answered "created" with a new execution
    And the execution "B" is pending
    And the execution "A" is <state>
    And "p_bank_statement" in "UW-1" has 2 executions

    Examples:
      | state     | payload                                                                          |
      | pending   | {"month": "2026-02", "documents": [{"type": "bank_statement", "id": "doc-1"}]}   |
      | completed | {"month": "2026-01", "documents": [{"type": "bank_statement", "id": "doc-2"}]}   |
      | running   | {"month": "2026-01", "documents": [{"type": "bank_statement", "id": "doc-1"}], "note": null} |
      | completed | {"month": "2026-01"}                                                             |

  Scenario: The same payload for another underwriting is that underwriting's own execution
    Given "Acme Corp" uses "p_bank_statement" in the underwriting "UW-2"
    When the payload is submitted to "p_bank_statement" in "UW-2" as "B":
      """
      {"month": "2026-01", "documents": [{"type": "bank_statement", "id": "doc-1"}]}
      """
    Then the submission is answered "created" with a new execution
    And the executions "A" and "B" have the same payload hash
    And "p_bank_statement" in "UW-1" has 1 execution
    And "p_bank_statement" in "UW-2" has 1 execution

  Scenario: The payload hash is SHA-256 of the payload as JSON with sorted keys
    When the payload is submitted to "p_bank_statement" in "UW-1" as "B":
      """
      {"b": 1, "a": [2, 1]}
      """
    Then the submission is answered "created" with a new execution
    And the execution "B" has the payload hash "2845ae9f89c46acfac963338dbb2b22d12f40d1bf0355639041f443d71eda6c3"

  Scenario: The document set hash ignores the order and repeats of the document revisions
    When the payload is submitted to "p_bank_statement" in "UW-1" as "B" with the documents "rev_002, rev_001, rev_002":
      """
      {"month": "2026-02"}
      """
    And the payload is submitted to "p_bank_statement" in "UW-1" as "C" with the documents "rev_001, rev_002":
      """
      {"month": "2026-03"}
      """
    Then the executions "B" and "C" have the same document set hash
    And the execution "A" has no document set hash

  Scenario: A payload JSON cannot carry is refused, naming the payload, with nothing written
    When the payload is submitted to "p_bank_statement" in "UW-1" as "B":
      """
      {"month": "2026-02", "amount": NaN}
      """
    Then the request is refused with a ValidationError naming "payload"
    And "p_bank_statement" in "UW-1" has 1 execution

  Scenario: A submission to an underwriting processor that does not exist is refused
    When a payload is submitted to an underwriting processor of "Acme Corp" that does not exist
    Then the request is refused with a NotFound mentioning "UnderwritingProcessor"
    And "p_bank_statement" in "UW-1" has 1 execution
