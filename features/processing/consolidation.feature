@memory
Feature: Consolidating the factors of a processor in an underwriting
  As an underwriter
  I want a processor's factors to come from its enabled, completed, current executions, through its own rule
  So that the factors reflect the runs that stand, and nothing pending, failed or disabled

  Background:
    Given it is "2026-03-02T08:00:00+00:00"
    And the organization "Acme Corp" is registered
    And "Acme Corp" has bought "p_bank_statement"
    And "Acme Corp" has bought "p_credit_report"
    And "Acme Corp" uses "p_bank_statement" in the underwriting "UW-1"
    And "Acme Corp" uses "p_credit_report" in the underwriting "UW-1"

  Scenario: The bank statement processor averages the monthly revenues of its executions
    Given the execution "Jan-Feb" of "p_bank_statement" in "UW-1" has completed with the output {"monthly_revenues": [40000, 50000], "nsf_count": 1}
    And the execution "Mar" of "p_bank_statement" in "UW-1" has completed with the output {"monthly_revenues": [60000.0], "nsf_count": 2}
    When the factors of "p_bank_statement" in "UW-1" are consolidated
    Then the factors are {"f_avg_revenue": 50000.0, "f_months": 3, "f_nsf_count": 3}

  Scenario: Only completed executions count
    Given the execution "Jan" of "p_bank_statement" in "UW-1" has completed with the output {"monthly_revenues": [30000.0]}
    And the execution "Feb" of "p_bank_statement" in "UW-1" is pending
    And the execution "Mar" of "p_bank_statement" in "UW-1" is running
    And the execution "Apr" of "p_bank_statement" in "UW-1" is failed
    When the factors of "p_bank_statement" in "UW-1" are consolidated
    Then the factors are {"f_avg_revenue": 30000.0, "f_months": 1, "f_nsf_count": 0}
    And "p_bank_statement" in "UW-1" has the current executions "Jan"

  Scenario: A disabled execution does not count, and counts again once enabled
    Given the execution "Jan" of "p_bank_statement" in "UW-1" has completed with the output {"monthly_revenues": [30000.0]}
    And the execution "Feb" of "p_bank_statement" in "UW-1" has completed with the output {"monthly_revenues": [50000.0]}
    And the execution "Feb" has been disabled
    When the factors of "p_bank_statement" in "UW-1" are consolidated
    Then the factors are {"f_avg_revenue": 30000.0, "f_months": 1, "f_nsf_count": 0}
    When the execution "Feb" is enabled again
    And the factors of "p_bank_statement" in "UW-1" are consolidated
    Then the factors are {"f_avg_revenue": 40000.0, "f_months": 2, "f_nsf_count": 0}

  Scenario: A completed execution taken out of the current list does not count
    Given the execution "Jan" of "p_bank_statement" in "UW-1" has completed with the output {"monthly_revenues": [30000.0]}
    And the execution "Feb" of "p_bank_statement" in "UW-1" has completed with the output {"monthly_revenues": [50000.0]}
    And the current executions of "p_bank_statement" in "UW-1" have been set to "Feb"
    When the factors of "p_bank_statement" in "UW-1" are consolidated
    Then the factors are {"f_avg_revenue": 50000.0, "f_months": 1, "f_nsf_count": 0}

  Scenario: The credit report processor takes the score of the latest execution to complete
    Given the execution "first pull" of "p_credit_report" in "UW-1" is running
    And the execution "second pull" of "p_credit_report" in "UW-1" has completed with the output {"score": 700}
    And the execution "first pull" has completed with the output {"score": 640}
    When the factors of "p_credit_report" in "UW-1" are consolidated
    Then the factors are {"f_credit_score": 640}
    And "p_credit_report" in "UW-1" has the current executions "second pull, first pull"

  Scenario: Without an execution that stands the factors are empty
    Given the execution "Jan" of "p_bank_statement" in "UW-1" is failed
    When the factors of "p_bank_statement" in "UW-1" are consolidated
    Then the factors are {"f_avg_revenue": null, "f_months": 0, "f_nsf_count": 0}
    When the factors of "p_credit_report" in "UW-1" are consolidated
    Then the factors are {"f_credit_score": null}

  Scenario: Each processor and each underwriting consolidates its own executions
    Given "Acme Corp" uses "p_credit_report" in the underwriting "UW-2"
    And the execution "UW-1 pull" of "p_credit_report" in "UW-1" has completed with the output {"score": 640}
    And the execution "UW-2 pull" of "p_credit_report" in "UW-2" has completed with the output {"score": 810}
    And the execution "Jan" of "p_bank_statement" in "UW-1" has completed with the output {"monthly_revenues": [30000.0], "score": 999}
    When the factors of "p_credit_report" in "UW-1" are consolidated
    Then the factors are {"f_credit_score": 640}
    When the factors of "p_credit_report" in "UW-2" are consolidated
    Then the factors are {"f_credit_score": 810}
