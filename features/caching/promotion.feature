@sqlite
Feature: Reads are promoted into the faster tiers with their remaining time to live
  As a service reading hot data
  I want a value found in a slow tier copied into the fast one
  So that the next read is served from memory, never longer than the original lives

  Background:
    Given a cache of a memory L1 capped at 300 seconds over a SQL L3, on a manual clock

  Scenario: A value found only in L3 is promoted with its remaining TTL
    Given "report" is stored only in L3 as "q3" for 120 seconds
    When "report" is read
    Then it reads "q3"
    And L1 holds "report" for 120 more seconds
    And the stats count 1 promotion into l1 and 1 hit in l3

  Scenario: A long-lived value is capped in L1 and promoted again from L3 when the copy expires
    When "catalog" is cached as "v1" for 7200 seconds
    Then L1 holds "catalog" for 300 more seconds
    And L3 holds "catalog" for 7200 more seconds
    When 301 seconds pass
    And "catalog" is read
    Then it reads "v1"
    And L1 holds "catalog" for 300 more seconds
    And the stats count 1 promotion into l1 and 1 hit in l3
