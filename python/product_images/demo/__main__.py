"""``python -m product_images.demo``: the same as the ``product-images-demo`` command."""

from product_images.demo.cli import main

main(prog_name="product-images-demo")
