@memory
Feature: Cache entries expire on their own time
  As a service caching what it reads
  I want every entry to live exactly its time to live
  So that nothing is served past the freshness I asked for

  Background:
    Given the cache of "Acme Corp" on a manual clock

  Scenario: An entry is served until its TTL has passed, then it is gone
    When "greeting" is cached as "hello" for 60 seconds
    And 59 seconds pass
    Then "greeting" reads "hello"
    When 2 seconds pass
    Then "greeting" is missing

  Scenario: A new TTL gives a key a new life
    When "session" is cached as "s-1" for 60 seconds
    And "session" is given 600 seconds to live
    And 300 seconds pass
    Then "session" reads "s-1"

  Scenario: A counter keeps the expiry of its first increment
    When "calls" is incremented by 1 with a TTL of 60 seconds
    And 30 seconds pass
    And "calls" is incremented by 2
    Then "calls" reads 3
    When 31 seconds pass
    Then "calls" is missing
