"""Large capture requests are prepared in parser processes, with the same results."""

from __future__ import annotations

import gzip
import json

from fastapi.testclient import TestClient

from loopwise.core.settings import Settings
from loopwise.ingest.pipeline import IngestPolicy
from loopwise.ingest.policies import save_policy
from loopwise.web.app import create_app
from loopwise.web.context import open_context
from tests.factories import create_project, flushed


def test_a_large_batch_goes_through_a_parser_process_with_the_projects_rules(
    settings: Settings,
) -> None:
    settings = settings.model_copy(update={"ingest_workers": 1})
    context = open_context(settings)
    with TestClient(create_app(settings, context), base_url="http://127.0.0.1") as client:
        project = create_project(context)
        with context.sessions.begin() as session:
            save_policy(session, project.id, IngestPolicy(require_consent=True))
        batch = [
            {"event": "read", "distinct_id": f"u{i}",
             "properties": {"$consent": ["analytics"] if i % 2 else [], "note": "x" * 100,
                            "contact": "mail a@b.io"}}
            for i in range(200)
        ]  # fmt: skip
        batch.append({"event": ["bad"], "distinct_id": "z"})
        body = json.dumps({"api_key": project.write_key, "batch": batch}).encode()
        assert len(body) > 16 * 1024
        answer = client.post("/batch/", content=body)
        assert answer.status_code == 200, answer.text
        assert context.ingest is not None
        assert context.ingest.parsers is not None
        assert context.ingest.parsers.started
        result = answer.json()
        assert result["accepted"] == 100
        assert result["dropped"] == {"consent_denied": 100}
        assert result["rejected"][0]["field"] == "batch[200].event"
        flushed(context)
        rows = (
            context.warehouse.query(
                "SELECT properties FROM events WHERE project_id = {p}", {"p": project.id}
            )
            .table.column("properties")
            .to_pylist()
        )
        assert len(rows) == 100
        assert all(json.loads(r)["contact"] == "mail [email]" for r in rows)
        wrong_key = gzip.compress(json.dumps({"api_key": "lw_x", "batch": batch}).encode())
        assert client.post("/batch/", content=wrong_key).status_code == 401
