"""Which photo is the price tag: the review list (seeds/label_overrides.csv) and its checks."""
