"""The second app of the expand/contract worked example ("studio"): its current schema, demo data and two app versions.

Only the demo and the tests use it: ``product-images-demo run --app studio`` builds a
database of that app's current shape (``client``, ``product``, ``studio_session``,
``message``, ``flow``, ``generated_image``) in ``public`` and a few tenant schemas,
then runs the change ``studio_collections`` (``macros/schema_changes/studio_collections.sql``)
while both app versions (:mod:`product_images.demo.studio.app`) keep working.
"""
