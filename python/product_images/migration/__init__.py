"""The migration: running the dbt project, finding the tenants, reporting what a run did."""
