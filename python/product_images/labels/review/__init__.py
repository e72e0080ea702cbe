"""The label review page: a local web app where a person settles the doubtful products from thumbnails.

* :mod:`~product_images.labels.review.queue`: what to review, read from the database;
* :mod:`~product_images.labels.review.session`: the decisions of one sitting, each written to
  ``seeds/label_overrides.csv`` before the page moves on, with undo;
* :mod:`~product_images.labels.review.thumbnails`: thumbnails made server side from object storage;
* :mod:`~product_images.labels.review.app`: the Starlette app (pages, JSON endpoints, security);
* :mod:`~product_images.labels.review.server`: ``product-images labels review``: serve, then apply.
"""
