@memory
Feature: Superseding an execution with a newer one
  As an underwriter
  I want a newer execution to replace an older one in the factors, and to undo that
  So that a corrected run counts instead of the one it corrects, with the history of both kept

  Background:
    Given it is "2026-03-02T08:00:00+00:00"
    And the organization "Acme Corp" is registered
    And "Acme Corp" has bought "p_bank_statement"
    And "Acme Corp" has bought "p_credit_report"
    And "Acme Corp" uses "p_bank_statement" in the underwriting "UW-1"
    And "Acme Corp" uses "p_credit_report" in the underwriting "UW-1"
    And the execution "A" of "p_bank_statement" in "UW-1" has completed with the output {"monthly_revenues": [40000.0]}
    And the execution "B" of "p_bank_statement" in "UW-1" has completed with the output {"monthly_revenues": [60000.0]}

  Scenario: The newer execution replaces the older one, which is disabled and points to it
    Given 5 minutes pass
    When the execution "A" is superseded by "B"
    Then the current executions answered are "B"
    And "p_bank_statement" in "UW-1" has the current executions "B"
    And the execution "A" is disabled since "2026-03-02T08:05:00+00:00" and superseded by "B"
    And the execution "B" is enabled and superseded by none
    And the factors of "p_bank_statement" in "UW-1" consolidate to {"f_avg_revenue": 60000.0, "f_months": 1, "f_nsf_count": 0}

  Scenario: The older execution keeps its place in the current list
    Given the execution "C" of "p_bank_statement" in "UW-1" has completed with the output {"monthly_revenues": [10000.0]}
    And the current executions of "p_bank_statement" in "UW-1" have been set to "A, C"
    When the execution "A" is superseded by "B"
    Then "p_bank_statement" in "UW-1" has the current executions "B, C"

  Scenario: Rolling back a supersession restores the older execution and disables the newer one
    Given the execution "A" has been superseded by "B"
    When the supersession of "A" is rolled back
    Then the current executions answered are "A"
    And "p_bank_statement" in "UW-1" has the current executions "A"
    And the execution "A" is enabled
    And the execution "B" is disabled
    And the factors of "p_bank_statement" in "UW-1" consolidate to {"f_avg_revenue": 40000.0, "f_months": 1, "f_nsf_count": 0}

  Scenario: An execution never superseded cannot be rolled back
    When the supersession of "A" is rolled back
    Then the request is refused with an InvalidTransition from "not superseded" to "rolled back"
    And "p_bank_statement" in "UW-1" has the current executions "A, B"

  Scenario: An execution cannot supersede itself
    When the execution "A" is superseded by "A"
    Then the request is refused with an InvalidTransition
    And the execution "A" is enabled and superseded by none
    And "p_bank_statement" in "UW-1" has the current executions "A, B"

  Scenario: Another processor's execution cannot supersede it
    Given the execution "score" of "p_credit_report" in "UW-1" has completed with the output {"score": 700}
    When the execution "A" is superseded by "score"
    Then the request is refused with an InvalidTransition
    And the execution "A" is enabled and superseded by none
    And "p_bank_statement" in "UW-1" has the current executions "A, B"
    And "p_credit_report" in "UW-1" has the current executions "score"

  Scenario Outline: An execution that is <state> cannot supersede one
    Given the execution "C" of "p_bank_statement" in "UW-1" is <state>
    When the execution "A" is superseded by "C"
    Then the request is refused with an InvalidTransition from "<state>" to "superseding another"
    And the execution "A" is enabled and superseded by none
    And "p_bank_statement" in "UW-1" has the current executions "A, B"

    Examples:
      | state   |
      | pending |
      | running |
      | failed  |

  Scenario: A supersession that would close a cycle is refused
    Given the execution "A" has been superseded by "B"
    When the execution "B" is superseded by "A"
    Then the request is refused with an InvalidTransition
    And the execution "B" is enabled and superseded by none
    And "p_bank_statement" in "UW-1" has the current executions "B"

  Scenario: The chain of an execution lists every execution linked to it, oldest first
    Given the execution "C" of "p_bank_statement" in "UW-1" has completed with the output {"monthly_revenues": [80000.0]}
    And the execution "D" of "p_bank_statement" in "UW-1" has completed with the output {"monthly_revenues": [1.0]}
    And the execution "A" has been superseded by "B"
    And the execution "B" has been superseded by "C"
    Then the chain of "A" is "A, B, C"
    And the chain of "B" is "A, B, C"
    And the chain of "C" is "A, B, C"
    And the chain of "D" is "D"
    And "p_bank_statement" in "UW-1" has the current executions "C, D"
