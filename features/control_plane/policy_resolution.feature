@memory
Feature: Resolving the policies that bind a request
  As the control plane deciding what a request may do
  I want the policies of the user, the application and the organization, most specific first
  So that a user's own limit overrides their application's, which overrides the organization's

  Background:
    Given it is "2026-03-02T08:00:00+00:00"
    And the organization "Acme Corp" is registered
    And "Acme Corp" has the application "chat"
    And "Acme Corp" has the application "search"
    And "Acme Corp" has the user "ann@acme.test"
    And "Acme Corp" has the user "bob@acme.test"

  Scenario: User policies first, then application, then organization; higher priority first in each
    Given "Acme Corp" has these policies:
      | label       | type       | for                        | priority | config                      |
      | org-low     | rate_limit | the organization           | 1        | {"requests_per_minute": 600} |
      | org-high    | cost_limit | the organization           | 5        | {"limit_cents": 100000}      |
      | chat-low    | rate_limit | application chat           | 0        | {"requests_per_minute": 120} |
      | chat-high   | rate_limit | application chat           | 7        | {"requests_per_minute": 60}  |
      | ann-any     | rate_limit | user ann@acme.test         | 2        | {"requests_per_minute": 30}  |
      | ann-in-chat | cost_limit | user ann@acme.test in chat | 3        | {"limit_cents": 500}         |
    When the policies binding a request of "chat" by "ann@acme.test" are resolved
    Then they are, in order: ann-in-chat, ann-any, chat-high, chat-low, org-high, org-low
    When the policies binding a request of "chat" with no user are resolved
    Then they are, in order: chat-high, chat-low, org-high, org-low

  Scenario: Policies of another application, another user or that are disabled do not bind
    Given "Acme Corp" has these policies:
      | label          | type            | for                          | priority | config                  | enabled |
      | org            | model_allowlist | the organization             | 0        | {"models": ["gpt-4o"]}  | yes     |
      | search         | rate_limit      | application search           | 9        | {"requests_per_minute": 1} | yes  |
      | bob            | rate_limit      | user bob@acme.test           | 9        | {"requests_per_minute": 1} | yes  |
      | ann-in-search  | rate_limit      | user ann@acme.test in search | 9        | {"requests_per_minute": 1} | yes  |
      | switched-off   | rate_limit      | application chat             | 9        | {"requests_per_minute": 1} | no   |
    When the policies binding a request of "chat" by "ann@acme.test" are resolved
    Then they are, in order: org

  Scenario: Another organization's policies never bind
    Given the organization "Globex" is registered
    And "Globex" has the application "chat"
    And "Globex" has these policies:
      | label  | type       | for              | priority | config                     |
      | globex | rate_limit | the organization | 0        | {"requests_per_minute": 5} |
    When the policies binding a request of "chat" with no user are resolved
    Then none bind
