"""The demo: its data set, pictures, object storage, the embedded PostgreSQL and the `demo` command."""
