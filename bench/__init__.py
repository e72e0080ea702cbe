"""Benchmarks of the product-images migration and the metadata prober (``make bench``).

Not part of ``make test``. See ``bench/README.md`` for what is measured, the
targets, and the latest results; raw results go to ``bench/results/*.json``.
"""
