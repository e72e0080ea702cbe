"""Publishing a stored product on a marketplace as an ordered, resumable job of ``marketplace_tasks``.

- :mod:`~product_images.publish.plans`: the ordered task list of a product (validate, upload photo
  1/n … n/n, create or update the listing), never a label;
- :mod:`~product_images.publish.tasks`: the orchestrator (run in order, skip SUCCESS, retry with
  backoff, stop at the first task that fails for good, leases, one worker per job), with
  :mod:`~product_images.publish.task_actions` (what each task type does) and
  :mod:`~product_images.publish.task_leases` (a task's row claimed and released) and
  :mod:`~product_images.publish.job_locks` (one worker per job);
- :mod:`~product_images.publish.client`: the marketplace interface and its HTTP client (httpx), the
  lookup of a listing by the product's reference included;
- :mod:`~product_images.publish.standin`: a local stand-in marketplace for the demo and the tests;
- :mod:`~product_images.publish.backend`: the back end's ``marketplace_tasks`` table (demo, tests).
"""
