from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from loopwise.core.settings import Settings
from loopwise.web.app import create_app
from loopwise.web.context import AppContext, open_context


@pytest.fixture
def context(settings: Settings) -> Iterator[AppContext]:
    ctx = open_context(settings)
    yield ctx
    ctx.close()


@pytest.fixture
def client(settings: Settings, context: AppContext) -> Iterator[TestClient]:
    with TestClient(create_app(settings, context), base_url="http://127.0.0.1") as test_client:
        yield test_client
