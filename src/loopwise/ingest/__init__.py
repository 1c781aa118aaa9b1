"""Ingestion: the one way events enter the warehouse.

This area owns the capture contract (``contracts.CaptureEvent``) and the facade that turns a
batch of captured events into rows of the warehouse ``events`` table (``facade.capture``).
Every producer goes through it — the demo simulation today, the PostHog/Segment-compatible
HTTP endpoints, the write-ahead log and its flusher later — so that validation, hot-column
materialisation, person ids and (later) the privacy steps are applied in exactly one place.

It does not own the table layout (``loopwise.warehouse.schema``) nor the merging of persons:
``person_id`` is a deterministic placeholder until the identity service exists.
"""
