@memory
Feature: Running the automatic processors of an underwriting
  As the processing engine
  I want one request to submit every enabled, automatic processor of an underwriting that the payload is worth running
  So that new documents are processed without anyone asking, and asking twice runs nothing twice

  Background:
    Given it is "2026-03-02T08:00:00+00:00"
    And the organization "Acme Corp" is registered
    And "Acme Corp" has bought "p_bank_statement"
    And "Acme Corp" has bought "p_credit_report"

  Scenario: Every automatic processor the payload is for is submitted
    Given "Acme Corp" uses these processors in the underwriting "UW-1":
      | processor        | auto | enabled |
      | p_bank_statement | yes  | yes     |
      | p_credit_report  | yes  | yes     |
    When "UW-1" is auto-executed with the documents "rev_001" and the payload:
      """
      {"documents": [{"type": "bank_statement", "id": "doc-1"}], "ssn_last4": "1234"}
      """
    Then the auto-execution answered:
      | processor        | outcome |
      | p_bank_statement | created |
      | p_credit_report  | created |
    And every execution it answered is pending with that payload and the documents "rev_001"
    And "p_bank_statement" in "UW-1" has 1 execution
    And "p_credit_report" in "UW-1" has 1 execution

  Scenario Outline: Each processor decides whether the payload is worth running
    Given "Acme Corp" uses these processors in the underwriting "UW-1":
      | processor        | auto | enabled |
      | p_bank_statement | yes  | yes     |
      | p_credit_report  | yes  | yes     |
    When "UW-1" is auto-executed with the payload <payload>
    Then the auto-execution submitted "<submitted>"
    And "p_bank_statement" in "UW-1" has <bank> executions
    And "p_credit_report" in "UW-1" has <credit> executions

    Examples:
      | payload                                                                     | submitted        | bank | credit |
      | {"documents": [{"type": "bank_statement", "id": "doc-1"}]}                  | p_bank_statement | 1    | 0      |
      | {"ssn_last4": "1234"}                                                       | p_credit_report  | 0    | 1      |
      | {"documents": [{"type": "tax_return", "id": "doc-2"}], "ssn_last4": ""}     |                  | 0    | 0      |
      | {"documents": {"type": "bank_statement"}, "ssn_last4": null}                |                  | 0    | 0      |
      | {}                                                                          |                  | 0    | 0      |

  Scenario: Disabled and manual processors are skipped
    Given "Acme Corp" uses these processors in the underwriting "UW-1":
      | processor        | auto | enabled |
      | p_bank_statement | no   | yes     |
      | p_credit_report  | yes  | no      |
    When "UW-1" is auto-executed with the payload {"documents": [{"type": "bank_statement", "id": "doc-1"}], "ssn_last4": "1234"}
    Then the auto-execution submitted ""
    And "p_bank_statement" in "UW-1" has 0 executions
    And "p_credit_report" in "UW-1" has 0 executions

  Scenario: A processor is automatic in an underwriting as its subscription is, unless the underwriting says otherwise
    Given the organization "Globex" is registered
    And "Globex" has bought "p_credit_report" to run automatically
    And "Globex" has bought "p_bank_statement" to run automatically
    And "Globex" uses "p_credit_report" in the underwriting "UW-9"
    And "Globex" uses these processors in the underwriting "UW-9":
      | processor        | auto | enabled |
      | p_bank_statement | no   | yes     |
    When "UW-9" is auto-executed with the payload {"documents": [{"type": "bank_statement", "id": "doc-1"}], "ssn_last4": "1234"}
    Then the auto-execution submitted "p_credit_report"

  Scenario: Running it twice with the same payload returns the executions of the first run
    Given "Acme Corp" uses these processors in the underwriting "UW-1":
      | processor        | auto | enabled |
      | p_bank_statement | yes  | yes     |
      | p_credit_report  | yes  | yes     |
    And "UW-1" has been auto-executed with the payload {"documents": [{"type": "bank_statement", "id": "doc-1"}], "ssn_last4": "1234"}
    When "UW-1" is auto-executed with the payload {"ssn_last4": "1234", "documents": [{"id": "doc-1", "type": "bank_statement"}]}
    Then the auto-execution answered:
      | processor        | outcome     |
      | p_bank_statement | in_progress |
      | p_credit_report  | in_progress |
    And it answered the executions of the first run
    And "p_bank_statement" in "UW-1" has 1 execution
    And "p_credit_report" in "UW-1" has 1 execution

  Scenario: Running it again once the first run completed reuses its executions
    Given "Acme Corp" uses these processors in the underwriting "UW-1":
      | processor        | auto | enabled |
      | p_bank_statement | yes  | yes     |
      | p_credit_report  | yes  | yes     |
    And "UW-1" has been auto-executed with the payload {"documents": [{"type": "bank_statement", "id": "doc-1"}], "ssn_last4": "1234"}
    And every execution of the first run has completed with the output {"score": 700, "monthly_revenues": [45000.0]}
    When "UW-1" is auto-executed with the payload {"documents": [{"type": "bank_statement", "id": "doc-1"}], "ssn_last4": "1234"}
    Then the auto-execution answered:
      | processor        | outcome |
      | p_bank_statement | reused  |
      | p_credit_report  | reused  |
    And it answered the executions of the first run

  Scenario: Only the underwriting asked for is run
    Given "Acme Corp" uses these processors in the underwriting "UW-1":
      | processor        | auto | enabled |
      | p_credit_report  | yes  | yes     |
    And "Acme Corp" uses these processors in the underwriting "UW-2":
      | processor        | auto | enabled |
      | p_credit_report  | yes  | yes     |
    When "UW-1" is auto-executed with the payload {"ssn_last4": "1234"}
    Then the auto-execution submitted "p_credit_report"
    And "p_credit_report" in "UW-1" has 1 execution
    And "p_credit_report" in "UW-2" has 0 executions
