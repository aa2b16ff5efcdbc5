@memory
Feature: The lifecycle of an application's API key
  As an organization administrator
  I want a key shown once, stored only as a hash, replaceable and revocable
  So that a leaked key can be stopped and nobody can read a key back from storage

  Background:
    Given it is "2026-03-02T08:00:00+00:00"
    And the organization "Acme Corp" is registered

  Scenario: A new application's key authenticates it, and only the key's hash is stored
    When "Acme Corp" registers the application "chat"
    Then the key is shown once, starting with "psk_"
    And the stored application holds the key's hash, not the key
    And the key authenticates the application "chat"

  Scenario: A key that does not match is refused
    Given "Acme Corp" registers the application "chat"
    When a request presents the key with its last character changed
    Then the request is refused with a ApiKeyRejected
    When a request presents the key "not-a-portside-key"
    Then the request is refused with a ApiKeyRejected

  Scenario: Rotating the key retires the old one
    Given "Acme Corp" registers the application "chat"
    When the key of "chat" is rotated
    Then the previous key is refused
    And the new key authenticates the application "chat"

  Scenario: A revoked key is refused, and the audit trail tells the whole story
    Given "Acme Corp" registers the application "chat"
    When the key of "chat" is rotated
    And the key of "chat" is revoked
    Then the new key is refused
    And the audit trail of "Acme Corp" reads: application.created, api_key.rotated, api_key.revoked
