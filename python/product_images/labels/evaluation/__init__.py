"""Evaluation renderers: labelled shop photos drawn only to MEASURE the price-tag detector.

Each sub-package (``thrift``, ``snapshot``) was written from a description of shop photos
by someone who had not read the detector (``labels/``) or the demo's drawing code, and
is never used to train the detector, choose its thresholds or its features, or look at
its errors while tuning it. :mod:`.sets` gives the shape of a set, :mod:`.measure` the
measuring (``product-images labels evaluate``).
"""
