@memory
Feature: The effective configuration of a processor in an underwriting
  As an underwriter
  I want a processor's configuration to be the catalog's default, changed by my organization's and then by the underwriting's
  So that every case runs with the settings chosen closest to it, and only with processors my organization bought

  Background:
    Given it is "2026-03-02T08:00:00+00:00"
    And the organization "Acme Corp" is registered

  Scenario: Without any change the catalog's default is the effective configuration
    Given "Acme Corp" has bought "p_credit_report"
    When "Acme Corp" uses "p_credit_report" in the underwriting "UW-1"
    Then the effective configuration of "p_credit_report" in "UW-1" is {"bureau": "experian", "min_score": 600}

  Scenario: The organization's config changes the default, the underwriting's override changes both
    Given "Acme Corp" has bought "p_bank_statement" with the config {"currency": "EUR", "min_months": 4}
    When "Acme Corp" uses "p_bank_statement" in the underwriting "UW-1" with the override {"min_months": 6}
    Then the effective configuration of "p_bank_statement" in "UW-1" is:
      """
      {"min_months": 6, "currency": "EUR", "thresholds": {"nsf": 3, "negative_days": 5}}
      """
    And the subscription of "Acme Corp" to "p_bank_statement" still has the config {"currency": "EUR", "min_months": 4}

  Scenario Outline: Right side wins: mappings merge deeply, lists and scalars replace, null clears
    Given "Acme Corp" has bought "p_bank_statement" with the config <tenant>
    When "Acme Corp" uses "p_bank_statement" in the underwriting "UW-1" with the override <override>
    Then the effective configuration of "p_bank_statement" in "UW-1" is <effective>

    Examples:
      | tenant                                  | override                               | effective                                                                                                  |
      | {}                                      | {}                                     | {"min_months": 3, "currency": "USD", "thresholds": {"nsf": 3, "negative_days": 5}}                         |
      | {"thresholds": {"nsf": 1}}              | {"thresholds": {"negative_days": 10}}  | {"min_months": 3, "currency": "USD", "thresholds": {"nsf": 1, "negative_days": 10}}                        |
      | {"accounts": ["chk-1", "sav-2"]}        | {"accounts": ["chk-9"]}                | {"min_months": 3, "currency": "USD", "thresholds": {"nsf": 3, "negative_days": 5}, "accounts": ["chk-9"]} |
      | {"currency": "EUR"}                     | {"currency": "GBP"}                    | {"min_months": 3, "currency": "GBP", "thresholds": {"nsf": 3, "negative_days": 5}}                         |
      | {"thresholds": {"nsf": 1}}              | {"thresholds": 7}                      | {"min_months": 3, "currency": "USD", "thresholds": 7}                                                      |
      | {"min_months": [1, 2]}                  | {"min_months": {"at_least": 2}}        | {"min_months": {"at_least": 2}, "currency": "USD", "thresholds": {"nsf": 3, "negative_days": 5}}          |
      | {"currency": "EUR"}                     | {"currency": null}                     | {"min_months": 3, "currency": null, "thresholds": {"nsf": 3, "negative_days": 5}}                          |
      | {"thresholds": null}                    | {}                                     | {"min_months": 3, "currency": "USD", "thresholds": null}                                                   |
      | {}                                      | {"thresholds": {"nsf": null}}          | {"min_months": 3, "currency": "USD", "thresholds": {"nsf": null, "negative_days": 5}}                      |

  Scenario: Two underwritings override one subscription independently
    Given "Acme Corp" has bought "p_credit_report" with the config {"bureau": "equifax"}
    And "Acme Corp" uses "p_credit_report" in the underwriting "UW-1" with the override {"min_score": 650}
    When "Acme Corp" uses "p_credit_report" in the underwriting "UW-2"
    Then the effective configuration of "p_credit_report" in "UW-1" is {"bureau": "equifax", "min_score": 650}
    And the effective configuration of "p_credit_report" in "UW-2" is {"bureau": "equifax", "min_score": 600}

  Scenario: A processor the catalog does not have cannot be bought
    When "Acme Corp" buys "p_fraud_score"
    Then the request is refused with a NotFound mentioning "p_fraud_score"
    And "Acme Corp" has bought no processor

  Scenario: A name that is not a processor name is refused
    When "Acme Corp" buys "bank statement"
    Then the request is refused with a ValidationError naming "processor"
    And "Acme Corp" has bought no processor

  Scenario: A processor is bought once
    Given "Acme Corp" has bought "p_credit_report"
    When "Acme Corp" buys "p_credit_report"
    Then the request is refused with a ValidationError naming "processor"
    And "Acme Corp" has bought "p_credit_report" only

  Scenario: A processor that was not bought cannot be used
    Given "Acme Corp" has bought "p_bank_statement"
    When "Acme Corp" uses "p_credit_report" in the underwriting "UW-1"
    Then the request is refused with a NotFound mentioning "p_credit_report"
    And the underwriting "UW-1" of "Acme Corp" uses no processor

  Scenario: Another organization's purchase does not count
    Given the organization "Globex" is registered
    And "Globex" has bought "p_credit_report"
    When "Acme Corp" uses "p_credit_report" in the underwriting "UW-1"
    Then the request is refused with a NotFound mentioning "p_credit_report"
    And the underwriting "UW-1" of "Acme Corp" uses no processor

  Scenario: A processor whose subscription is disabled cannot be used
    Given "Acme Corp" has bought "p_credit_report"
    And the subscription of "Acme Corp" to "p_credit_report" has been disabled
    When "Acme Corp" uses "p_credit_report" in the underwriting "UW-1"
    Then the request is refused with a ValidationError naming "processor"
    And the underwriting "UW-1" of "Acme Corp" uses no processor
