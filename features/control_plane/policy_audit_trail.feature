@memory
Feature: The audit trail of a policy change, in one transaction
  As a compliance officer
  I want every policy change recorded with who made it and under which request
  So that a policy and its audit entry are always found together, or neither is

  Background:
    Given it is "2026-03-02T08:00:00+00:00"
    And the organization "Acme Corp" is registered
    And "Acme Corp" has the application "chat"
    And "Acme Corp" has the user "ann@acme.test"

  Scenario: Defining a policy records it in the audit trail
    When "ann@acme.test" sets a rate limit of 60 requests per minute on "chat" in the request "req-42"
    Then "Acme Corp" has 1 policy
    And the audit trail of "Acme Corp" ends with: policy.created
    And the last audit entry names the policy, "ann@acme.test" and the request "req-42"

  Scenario: Changing a policy records what changed
    Given "ann@acme.test" sets a rate limit of 60 requests per minute on "chat" in the request "req-1"
    When "ann@acme.test" changes that limit to 30 requests per minute in the request "req-2"
    Then the audit trail of "Acme Corp" ends with: policy.created, policy.updated
    And the last audit entry shows the limit going from 60 to 30

  Scenario: When the audit entry cannot be written, the policy is not stored either
    Given the audit log refuses every entry
    When "ann@acme.test" sets a rate limit of 60 requests per minute on "chat" in the request "req-42"
    Then the request is refused with a StorageError
    And "Acme Corp" has 0 policies
    And the audit trail of "Acme Corp" has no policy entry

  Scenario: A policy with an invalid configuration is refused and nothing is written
    When "ann@acme.test" sets a rate limit of -5 requests per minute on "chat" in the request "req-42"
    Then the request is refused with a ValidationError naming "config.requests_per_minute"
    And "Acme Corp" has 0 policies
    And the audit trail of "Acme Corp" has no policy entry
