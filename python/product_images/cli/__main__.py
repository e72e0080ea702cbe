"""``python -m product_images.cli`` is the ``product-images`` command."""

from product_images.cli import main

main()
