Feature: A job queue that workers drain in priority order, retrying failures up to a dead letter
  Jobs are queued for an organization; workers claim them in priority order, report progress,
  and complete or fail them. Failures are retried with backoff until the job's retries run out.

  Background:
    Given the organization "Acme" queues jobs

  Scenario: Higher priorities run first, then the oldest
    Given a "report" job with priority 2 on queue "exports"
    And a "thumbnail" job with priority 9 on queue "exports"
    And a "report" job with priority 2 on queue "exports"
    When a worker claims 3 jobs from "exports"
    Then the claimed job types are "thumbnail, report, report" in that order

  Scenario: A failing job is retried with backoff and then lands in the dead letter
    Given a "flaky" job with 2 retries on queue "default"
    When the job fails 3 times, the clock moving past each backoff
    Then the job is "FAILED" with 2 retries made
    And the dead letter of "default" holds the job
    When the operator requeues the job
    Then the job is "QUEUED" with 0 retries made

  Scenario: Progress is reported while the job runs
    Given a "report" job with priority 2 on queue "default"
    When a worker claims 1 jobs from "default"
    And the worker reports 40 percent
    Then the job is "RUNNING" at 40 percent
    When the worker completes the job
    Then the job is "COMPLETED" at 100 percent

  Scenario: A queued job knows its position and the queue its statistics
    Given a "report" job with priority 1 on queue "default"
    And a "report" job with priority 5 on queue "default"
    And a "report" job with priority 1 on queue "default"
    Then the last job is at position 3
    When a worker claims 1 jobs from "default"
    Then the last job is at position 2
    And the statistics of "default" are 2 queued and 1 running

  Scenario: Cleanup removes finished jobs past their retention
    Given a "report" job with priority 2 on queue "default"
    And a "report" job with priority 2 on queue "default"
    And the first job was cancelled 8 days ago
    When cleanup runs with a retention of 7 days
    Then 1 job was removed and 1 job remains

  Scenario: One live job per deduplication key
    Given a "report" job keyed "invoice-42"
    And a "report" job keyed "invoice-42"
    Then the organization has 1 job
    When a worker claims 1 jobs from "default"
    And the worker completes the job
    And a "report" job keyed "invoice-42"
    Then the organization has 2 jobs

  Scenario: Parallel chunks merge when the last one completes
    Given a processing split into 3 chunks
    When chunks 0, 1 and 2 complete, chunk 1 after one failure
    Then the processing is "MERGING" at 100 percent with chunk 1 retried once
    When the merge completes
    Then the processing is "COMPLETED" and no longer active
