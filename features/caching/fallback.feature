@redis
Feature: Fallback to memory while Redis is unreachable
  As a service whose cache is Redis
  I want calls served from memory when Redis does not answer
  So that a cache outage is never an outage of the service, and no invalidated value survives it

  Scenario: An unreachable Redis is replaced by memory, then used again when it answers
    Given a cache of "Acme Corp" on a Redis that does not answer
    When "greeting" is cached as "hello" for 60 seconds
    Then "greeting" reads "hello"
    And no call raised an error
    And one warning says Redis is unreachable
    When Redis starts
    Then within 5 seconds the cache writes to Redis again

  Scenario: What was invalidated during the outage is gone from Redis when it returns
    Given a cache of "Acme Corp" on a running Redis
    And "Acme Corp" has cached "workspace:7:documents", "workspace:7:members" and "profile"
    When Redis stops answering for 2 seconds
    And "Acme Corp" invalidates the workspace "7"
    And Redis answers again
    Then Redis holds "profile" only
    And no call raised an error
