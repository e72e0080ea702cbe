"""Image metadata from object storage: the URL-to-object mapping, the header prober, the backfill."""
