"""The independent witness: the Great Expectations suites' builder, the checkpoint runner and its report."""
