"""The tenancy context: the tenant (an organization) is the isolation boundary of all data."""
