@memory
Feature: Deciding on incidents and remediating them
  As a platform operator
  I want every automated decision on an incident kept, and every remediation action to follow its lifecycle
  So that I can audit what was decided, and no action or incident skips or repeats a step

  Background:
    Given it is "2026-03-02T08:00:00+00:00"
    And the organization "Acme Corp" is registered
    And "Acme Corp" runs the workflow "nightly-settlement"
    And "nightly-settlement" has reported a "settlement.failed" event with the key "run-1" and the error TIMEOUT "bank API timeout after 30s"

  Scenario: An action proposed on an open incident is pending
    When the operator proposes a "retry" action on the incident with the parameters:
      """
      {"delay_s": 60}
      """
    Then the action is PENDING at version 1
    And the action has the parameters:
      """
      {"delay_s": 60}
      """
    And the incident is NEW

  Scenario Outline: Starting an action puts it in progress and marks its incident ACTIONED
    Given the incident has gone through "<path>"
    And the operator has proposed a "retry" action on the incident
    And 5 minutes pass
    When the operator starts the action
    Then the action is IN_PROGRESS at version 2
    And the action was started at "2026-03-02T08:05:00+00:00"
    And the incident is ACTIONED

    Examples:
      | path                                |
      | NEW                                 |
      | NEW, ANALYZING                      |
      | NEW, ANALYZING, ACTIONED            |
      | NEW, ANALYZING, ACTIONED, ANALYZING |

  Scenario Outline: Finishing an action records how it ended and its result
    Given the operator has proposed a "<type>" action on the incident
    And the operator has started the action
    And 5 minutes pass
    When the operator finishes the action as <outcome> with the result:
      """
      <result>
      """
    Then the action is <status> at version 3
    And the action was finished at "2026-03-02T08:05:00+00:00"
    And the action has the result:
      """
      <result>
      """

    Examples:
      | type     | outcome   | status    | result                          |
      | retry    | succeeded | SUCCEEDED | {"rerun": "ok", "rows": 1200}   |
      | escalate | failed    | FAILED    | {"error": "pager not answered"} |
      | manual   | succeeded | SUCCEEDED | {}                              |

  Scenario: A pending action can be called off
    Given the operator has proposed a "retry" action on the incident
    When the operator finishes the action as failed with the result:
      """
      {"cancelled_by": "ops@acme"}
      """
    Then the action is FAILED at version 2
    And the incident is NEW

  Scenario Outline: Illegal moves of an action are refused, naming from and to, and change nothing
    Given the operator has proposed a "retry" action on the incident
    And the operator has taken the action to <state>
    When the operator <move>
    Then the request is refused with an InvalidTransition from "<state>" to "<to>"
    And the action is still <state> at version <version>

    Examples:
      | state       | move                             | to          | version |
      | PENDING     | finishes the action as succeeded | SUCCEEDED   | 1       |
      | IN_PROGRESS | starts the action                | IN_PROGRESS | 2       |
      | SUCCEEDED   | starts the action                | IN_PROGRESS | 3       |
      | FAILED      | starts the action                | IN_PROGRESS | 3       |
      | SUCCEEDED   | finishes the action as failed    | FAILED      | 3       |
      | FAILED      | finishes the action as succeeded | SUCCEEDED   | 3       |

  Scenario Outline: No action is proposed on a closed incident
    Given the incident has gone through "<path>"
    When the operator proposes a "retry" action on the incident
    Then the request is refused with an InvalidTransition mentioning "<closed>"
    And the incident has no actions

    Examples:
      | path                    | closed   |
      | NEW, RESOLVED           | RESOLVED |
      | NEW, ANALYZING, IGNORED | IGNORED  |

  Scenario: An unknown kind of action is refused, naming the field
    When the operator proposes a "reboot" action on the incident
    Then the request is refused with a ValidationError naming "action_type"
    And the incident has no actions

  Scenario: Another organization can neither propose, start nor finish actions on this incident
    Given the organization "Globex" is registered
    And the operator has proposed a "retry" action on the incident
    When "Globex" proposes a "retry" action on the incident
    Then the request is refused with a NotFound mentioning "Incident"
    When "Globex" starts the action
    Then the request is refused with a NotFound mentioning "Action"
    When "Globex" finishes the action as succeeded
    Then the request is refused with a NotFound mentioning "Action"
    And the action is still PENDING at version 1
    And the incident has 1 action

  Scenario: Decisions are kept as an audit trail, oldest first
    When the decision engine records these decisions on the incident, 1 minute apart:
      | decision | confidence | model  | reasoning                                      |
      | retry    | 0.87       | gpt-4o | Transient upstream timeouts; the bank recovers |
      | escalate | 0.4        | gpt-4o | Third timeout in an hour                       |
    Then the decisions on the incident are:
      | decision | confidence | model  | taken at                  |
      | retry    | 0.87       | gpt-4o | 2026-03-02T08:00:00+00:00 |
      | escalate | 0.4        | gpt-4o | 2026-03-02T08:01:00+00:00 |

  Scenario Outline: A confidence from 0 to 1 is accepted
    When the decision engine records a "retry" decision on the incident with the confidence <confidence>
    Then the incident has 1 decision

    Examples:
      | confidence |
      | 0          |
      | 0.5        |
      | 1          |

  Scenario Outline: A confidence outside 0 to 1 is refused, naming the field, and nothing is recorded
    When the decision engine records a "retry" decision on the incident with the confidence <confidence>
    Then the request is refused with a ValidationError naming "confidence_score"
    And the incident has no decisions

    Examples:
      | confidence |
      | -0.01      |
      | 1.01       |
      | 1.4        |
      | 100        |
      | nan        |
      | inf        |

  Scenario: A decision on another organization's incident is refused as not found
    Given the organization "Globex" is registered
    When "Globex" records a "retry" decision on the incident with the confidence 0.9
    Then the request is refused with a NotFound mentioning "Incident"
    And the incident has no decisions

  Scenario Outline: Legal moves of an incident
    Given the incident has gone through "<path>"
    When the operator moves the incident to <to>
    Then the incident is <to>

    Examples:
      | path                     | to        |
      | NEW                      | ANALYZING |
      | NEW                      | RESOLVED  |
      | NEW                      | IGNORED   |
      | NEW, ANALYZING           | ACTIONED  |
      | NEW, ANALYZING           | RESOLVED  |
      | NEW, ANALYZING, ACTIONED | ANALYZING |
      | NEW, ANALYZING, ACTIONED | RESOLVED  |
      | NEW, ANALYZING, ACTIONED | IGNORED   |

  Scenario Outline: Illegal moves of an incident are refused, naming from and to, and change nothing
    Given the incident has gone through "<path>"
    When the operator moves the incident to <to>
    Then the request is refused with an InvalidTransition from "<from>" to "<to>"
    And the incident is still <from>

    Examples:
      | path                     | from      | to        |
      | NEW, RESOLVED            | RESOLVED  | ANALYZING |
      | NEW, RESOLVED            | RESOLVED  | NEW       |
      | NEW, RESOLVED            | RESOLVED  | RESOLVED  |
      | NEW, IGNORED             | IGNORED   | ANALYZING |
      | NEW, IGNORED             | IGNORED   | RESOLVED  |
      | NEW                      | NEW       | ACTIONED  |
      | NEW                      | NEW       | NEW       |
      | NEW, ANALYZING           | ANALYZING | NEW       |
      | NEW, ANALYZING, ACTIONED | ACTIONED  | NEW       |

  Scenario: Another organization cannot move the incident
    Given the organization "Globex" is registered
    When "Globex" moves the incident to RESOLVED
    Then the request is refused with a NotFound mentioning "Incident"
    And the incident is still NEW
