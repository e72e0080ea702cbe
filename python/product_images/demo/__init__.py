"""The demo: its data set, pictures, object storage and the `product-images-demo` command.

Nothing outside `demo/` imports it (the import contract of pyproject.toml, `make lint`).
"""
