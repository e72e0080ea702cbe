"""product_images: migrate JSONB product photos to per-tenant ``product_images`` tables.

The package is a library with a thin command-line interface (``product-images``):
the dbt project at the repository root does the migration itself; this package
holds the glue around it (connection settings, the embedded PostgreSQL for the
demo and tests, the demo data set), the Great Expectations checkpoint runner,
the object-storage metadata prober and the marketplace converters.
"""

__version__ = "0.1.0"
