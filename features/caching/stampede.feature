@memory
Feature: Stampede protection
  As a service whose hot key just expired
  I want one caller to recompute it while the others wait for that value
  So that the database sees one query, not a hundred

  Background:
    Given the cache of "Acme Corp" on a manual clock

  Scenario: A hundred callers missing one key run the loader once
    When 100 callers read "dashboard" at once through a loader taking 200 ms
    Then the loader ran once
    And every caller got the loaded value

  Scenario: A value close to expiry is recomputed early by one caller
    Given "dashboard" is cached as "old" for 60 seconds
    When 55 seconds pass
    And "dashboard" is read through a loader answering "new", recomputing 10 seconds early
    Then it reads "new"
    And the loader ran once
