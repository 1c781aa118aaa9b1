"""Ingestion: the ways events enter the warehouse, and who they belong to.

This area owns:

- the capture contract (``contracts.CaptureEvent``) and the conversion of a batch into rows
  of the warehouse ``events`` table (``facade.events_to_arrow``, ``facade.capture``);
- the PostHog- and Segment-compatible endpoints (``formats``, ``wire``, ``web.capture``);
- the privacy pipeline run on every SDK event before anything is stored (``pipeline``,
  ``privacy``) and each project's privacy settings (``policies``);
- durability: the write-ahead log, its flusher and deduplication (``wal``, ``service``,
  ``store``, ``dedupe``), and parser processes for large requests (``workers``);
- identity: persons, distinct ids, merges and the person override map (``identity``,
  ``persons``, ``jobs``);
- the events and persons API, the Live events and Ingestion pages.

Producers with trusted, already-shaped data (the demo simulation) use ``facade.capture``
and skip the pipeline and the log. The table layout belongs to ``loopwise.warehouse``.
"""
