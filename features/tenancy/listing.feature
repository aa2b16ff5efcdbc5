@memory
Feature: Listing organizations
  As a platform operator
  I want to search, sort and page through the registered organizations
  So that I can find the ones I administer, however many there are

  Background:
    Given it is "2026-01-01T09:00:00+00:00"
    And these organizations are registered, one minute apart:
      | name               | slug      | active |
      | Acme Corp          | acme-corp | yes    |
      | Globex Corporation | globex    | yes    |
      | Initech            | initech   | no     |
      | Umbrella Corp      | umbrella  | no     |
      | Hooli              | hooli     | yes    |

  Scenario: Organizations are listed in the order they were registered
    When the operator lists the organizations
    Then the listed organizations are "Acme Corp, Globex Corporation, Initech, Umbrella Corp, Hooli"
    And the total is 5

  Scenario Outline: Listing by state
    When the operator lists the <state> organizations
    Then the listed organizations are "<names>"
    And the total is <total>

    Examples:
      | state    | names                                | total |
      | active   | Acme Corp, Globex Corporation, Hooli | 3     |
      | inactive | Initech, Umbrella Corp               | 2     |

  Scenario Outline: Searching by name ignores case
    When the operator lists the organizations whose name contains "<text>"
    Then the listed organizations are "<names>"

    Examples:
      | text        | names                                        |
      | corp        | Acme Corp, Globex Corporation, Umbrella Corp |
      | CORP        | Acme Corp, Globex Corporation, Umbrella Corp |
      | cOrPoRaTiOn | Globex Corporation                           |
      | ooli        | Hooli                                        |
      | xyz         |                                              |

  Scenario: Filters combine
    When the operator lists the active organizations whose name contains "corp"
    Then the listed organizations are "Acme Corp, Globex Corporation"
    And the total is 2

  Scenario: Listing chosen slugs
    When the operator lists the organizations with the slugs "hooli, initech, nobody"
    Then the listed organizations are "Initech, Hooli"

  Scenario: Listing by registration time
    When the operator lists the organizations registered from "2026-01-01T09:01:00+00:00" and before "2026-01-01T09:03:00+00:00"
    Then the listed organizations are "Globex Corporation, Initech"

  Scenario Outline: Sorting
    When the operator lists the organizations sorted by "<sort>"
    Then the listed organizations are "<names>"

    Examples:
      | sort             | names                                                        |
      | name             | Acme Corp, Globex Corporation, Hooli, Initech, Umbrella Corp |
      | -name            | Umbrella Corp, Initech, Hooli, Globex Corporation, Acme Corp |
      | -created_at      | Hooli, Umbrella Corp, Initech, Globex Corporation, Acme Corp |
      | is_active,name   | Initech, Umbrella Corp, Acme Corp, Globex Corporation, Hooli |
      | -is_active,-slug | Hooli, Globex Corporation, Acme Corp, Umbrella Corp, Initech |

  Scenario Outline: A sort the listing does not offer is refused
    When the operator lists the organizations sorted by "<sort>"
    Then the request is refused with a ValidationError naming "sort"

    Examples:
      | sort       |
      | colour     |
      | settings   |
      | name,-name |

  Scenario Outline: Pages by position carry the total
    When the operator lists <limit> organizations from position <offset>, sorted by "name"
    Then the listed organizations are "<names>"
    And the total is 5
    And there is <more> page after it

    Examples:
      | limit | offset | names                         | more    |
      | 2     | 0      | Acme Corp, Globex Corporation | another |
      | 2     | 2      | Hooli, Initech                | another |
      | 2     | 4      | Umbrella Corp                 | no      |
      | 10    | 5      |                               | no      |

  Scenario Outline: A bad page is refused, naming the field
    When the operator lists <limit> organizations from position <offset>, sorted by "name"
    Then the request is refused with a ValidationError naming "<field>"

    Examples:
      | limit | offset | field  |
      | -1    | 0      | limit  |
      | 0     | 0      | limit  |
      | 1001  | 0      | limit  |
      | 10    | -5     | offset |

  Scenario: Walking through the pages to the end
    When the operator walks through the organizations sorted by "name", 2 at a time
    Then the walk went through these pages:
      | page | organizations                 |
      | 1    | Acme Corp, Globex Corporation |
      | 2    | Hooli, Initech                |
      | 3    | Umbrella Corp                 |

  Scenario: Walking through a filtered listing, newest first
    When the operator walks through the active organizations sorted by "-created_at", 2 at a time
    Then the walk went through these pages:
      | page | organizations             |
      | 1    | Hooli, Globex Corporation |
      | 2    | Acme Corp                 |

  Scenario Outline: Every organization is seen once, whatever the page size
    When the operator walks through the organizations sorted by "<sort>", <size> at a time
    Then the walk took <pages> pages
    And the walk saw every organization once, sorted by "<sort>"

    Examples:
      | sort       | size | pages |
      | name       | 1    | 5     |
      | -name      | 2    | 3     |
      | is_active  | 2    | 3     |
      | created_at | 5    | 1     |
      | -slug      | 50   | 1     |

  Scenario: Pages neither skip nor repeat when an organization already seen is removed
    When the operator reads the first 2 organizations sorted by "name"
    And the operator removes "Acme Corp"
    And the operator reads the next 2 organizations
    Then the listed organizations are "Hooli, Initech"

  Scenario: Pages show an organization registered during the walk in its place
    When the operator reads the first 2 organizations sorted by "name"
    And the operator registers an organization named "Hal Industries"
    And the operator reads the next 2 organizations
    Then the listed organizations are "Hal Industries, Hooli"

  Scenario: A cursor continues only the sort it came from
    When the operator reads the first 2 organizations sorted by "name"
    And the operator reads the next 2 organizations, sorted by "-name" instead
    Then the request is refused with a ValidationError naming "cursor"

  Scenario: A made-up cursor is refused
    When the operator reads 2 organizations sorted by "name" after the cursor "not-a-cursor"
    Then the request is refused with a ValidationError naming "cursor"
