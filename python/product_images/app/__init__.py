"""The app's side: image records, the write service, the marketplaces' photo rules and payloads."""
