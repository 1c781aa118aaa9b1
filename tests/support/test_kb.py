"""The knowledge base: articles, safe markdown, suggestions, and drafts proposed from a
question that came back, on SQLite and PostgreSQL; then the pages, through the app."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from loopwise.core import accounts
from loopwise.core.db import make_engine, migrate, session_factory, transaction
from loopwise.core.errors import InvalidInput, NotFound
from loopwise.core.models import AuditEvent
from loopwise.core.roles import Role
from loopwise.support import kb
from loopwise.support.models import KbArticle, Ticket, TicketMessage
from loopwise.web.context import AppContext
from tests.factories import TEST_ACTOR, create_project, create_user, sign_in

P, OTHER = 1, 2  # the projects every storage test creates first in its fresh database
NOW = datetime(2026, 3, 9, 12, tzinfo=UTC)
NUMBERS = itertools.count(100)
ANSWER = "Open the plan, click Share and choose Export as PDF. The file downloads at once."

# Six customers asking one question in their own words, with their names and addresses.
EXPORT = [
    ("How do I export my meal plan?", "Hi, I'd like to export my weekly meal plan to a PDF so "
     "I can print it. Where is that option?\n\nThanks,\nMaria", "Maria Lopez"),
    ("Export meal plan to PDF", "Hello team, is there a way to download my meal plan as a PDF "
     "file? I can't find an export button. Write to me at jo.kim@example.com", "Jo Kim"),
    ("Can't find how to export the meal plan", "Hey, I want to get my meal plan out of the "
     "app, as a PDF or spreadsheet. How do I export it?", "Ana Silva"),
    ("Download my meal plan", "Hi there, how can I download or export the meal plan I made "
     "this week? I want to share it with my wife.", "Tom Berg"),
    ("Meal plan export?", "Good morning, does the app let me export a meal plan? I'd like a "
     "printable copy of this week's plan.", "Lee Chan"),
    ("Printing / exporting my meal plan", "Hello, I need to print my meal plan. Is there an "
     "export to PDF somewhere? Thanks, Priya", "Priya Nair"),
]  # fmt: skip
# Other questions of the same week, each asked once.
OTHERS = [
    ("Charged twice this month", "Hi, my card was charged twice for the March subscription. "
     "Please refund one of the charges.", "billing"),
    ("App crashes when I log a meal", "The iOS app closes every time I try to add breakfast "
     "to my diary. iPhone 15, latest version.", "bug"),
    ("Reset my password", "I forgot my password and the reset e-mail never arrives. Can you "
     "help me get back into my account?", "account_access"),
    ("Cancel my subscription", "Please cancel my subscription at the end of this billing "
     "period, I no longer need it.", "cancellation"),
    ("Feature idea: dark mode", "It would be great to have a dark mode in the app, the white "
     "screen is very bright at night.", "feature_request"),
    ("Recipe shows wrong calories", "The lentil soup recipe says 90 kcal per serving which "
     "seems far too low. Can you check?", "bug"),
    ("Share my meal plan with my partner", "Can two people in the same household share one "
     "meal plan and both edit it?", "how_to"),
    ("Grocery list is empty", "When I generate the shopping list from my meal plan, it comes "
     "out empty.", "bug"),
]  # fmt: skip


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(database_url)
    migrate(engine)
    factory = session_factory(engine)
    with factory.begin() as session:
        assert accounts.create_project(session, TEST_ACTOR, "Support").id == P
        assert accounts.create_project(session, TEST_ACTOR, "Other").id == OTHER
    yield factory
    engine.dispose()


def solved(
    session: Session, subject: str, question: str, answer: str, *, name: str = "",
    category: str = "how_to", solved_at: datetime = NOW - timedelta(days=1),
    project_id: int = P,
) -> Ticket:  # fmt: skip
    """A ticket solved at ``solved_at``: the customer's question, then the agent's answer."""
    created = solved_at - timedelta(hours=3)
    email = f"{name.split()[0].lower()}@example.com" if name else "someone@example.com"
    ticket = Ticket(project_id=project_id, number=next(NUMBERS), source="api", subject=subject,
                    requester_email=email, requester_name=name, status="solved",
                    category=category, created_at=created, updated_at=solved_at,
                    solved_at=solved_at)  # fmt: skip
    session.add(ticket)
    session.flush()
    session.add_all([
        TicketMessage(ticket_id=ticket.id, project_id=project_id, author_kind="customer",
                      author=email, body=question, created_at=created),
        TicketMessage(ticket_id=ticket.id, project_id=project_id, author_kind="agent",
                      author="sam@acme.test", body=answer,
                      created_at=solved_at - timedelta(minutes=5)),
    ])  # fmt: skip
    return ticket


def export_tickets(
    session: Session, count: int = 6, *, solved_at: datetime = NOW - timedelta(days=1),
    project_id: int = P,
) -> list[int]:  # fmt: skip
    """``count`` export questions; most agents answered alike, one in other words."""
    ids = []
    for n, (subject, question, name) in enumerate(EXPORT[:count]):
        answer = f"Hi {name.split()[0]},\n\n{ANSWER}\n\nBest,\nSam"
        if n == 2:
            answer = "Hello! Thanks for reaching out.\nYou will find Export in the Share menu."
        ids.append(solved(session, subject, question, answer, name=name, solved_at=solved_at,
                          project_id=project_id).id)  # fmt: skip
    return ids


def other_tickets(session: Session) -> None:
    for subject, question, category in OTHERS:
        solved(session, subject, question, "Hi,\n\nDone for you.\n\nCheers,\nSam",
               category=category)  # fmt: skip


# --- proposals --------------------------------------------------------------------------


def test_six_similar_solved_tickets_among_others_make_one_proposal(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        other_tickets(session)
        ids = export_tickets(session)
        other_tickets(session)
    with sessions() as session:
        proposals = kb.propose_drafts(session, P, NOW)
        assert session.scalar(select(func.count()).select_from(KbArticle)) == 0
    assert len(proposals) == 1
    proposal = proposals[0]
    assert proposal.source_tickets == tuple(sorted(ids))
    assert "export" in proposal.title.lower()
    assert "meal plan" in proposal.title.lower()
    assert proposal.summary.startswith("6 tickets this week about")
    assert proposal.category == "how_to"
    body = proposal.body
    assert ANSWER in body  # the answer most agents gave
    assert "## The question" in body
    assert "## The answer" in body
    assert "## Tickets" in body
    assert all(f"#{n}" in body for n in proposal.numbers)
    # Greetings, sign-offs, names and addresses are left out.
    for gone in ("Maria", "Priya", "Jo Kim", "@example.com", "Best,", "Sam\n", "Hi "):
        assert gone not in body, gone


def test_fewer_similar_tickets_than_the_minimum_make_no_proposal(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        export_tickets(session, count=4)
        other_tickets(session)
    with sessions() as session:
        assert kb.propose_drafts(session, P, NOW) == []
        assert len(kb.propose_drafts(session, P, NOW, min_size=4)) == 1


def test_tickets_solved_before_the_window_are_not_grouped(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        export_tickets(session, solved_at=NOW - timedelta(days=10))
        export_tickets(session, solved_at=NOW - timedelta(days=10), project_id=OTHER)
    with sessions() as session:
        assert kb.propose_drafts(session, P, NOW) == []
        assert len(kb.propose_drafts(session, P, NOW, days=14)) == 1


def test_an_article_with_those_source_tickets_covers_the_group(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        ids = export_tickets(session)
        other_tickets(session)
        kb.create_article(session, P, NOW, title="Billing FAQ", body="Invoices are monthly.",
                          source_tickets=(ids[0],))  # fmt: skip
    with sessions() as session:
        assert kb.propose_drafts(session, P, NOW) == []


def test_an_article_about_the_same_question_covers_the_group(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        export_tickets(session)
        kb.create_article(session, P, NOW - timedelta(days=30), title="Exporting a meal plan",
                          body="To export or print your meal plan as a PDF, open the plan, "
                          "click Share and choose Export as PDF.")  # fmt: skip
    with sessions() as session:
        assert kb.propose_drafts(session, P, NOW) == []


def test_creating_drafts_twice_stores_each_proposal_once(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        ids = export_tickets(session)
        other_tickets(session)
    with sessions.begin() as session:
        first = kb.create_drafts(session, P, NOW, created_by="agent@acme.test")
    with sessions.begin() as session:
        again = kb.create_drafts(session, P, NOW)
        rows = session.scalars(select(KbArticle)).all()
    assert len(first) == 1
    assert again == []
    assert len(rows) == 1
    assert rows[0].status == "draft"
    assert sorted(rows[0].source_tickets) == sorted(ids)
    assert rows[0].category == "how_to"
    assert rows[0].created_by == "agent@acme.test"


# --- articles ----------------------------------------------------------------------------


def test_publishing_writes_an_audit_entry_and_unpublishing_returns_to_draft(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        article = kb.create_article(session, P, NOW, title="Exporting a meal plan",
                                    body="Open the plan, then **Share → Export**.")  # fmt: skip
        published = kb.publish(session, TEST_ACTOR, P, article.id, NOW)
        kb.publish(session, TEST_ACTOR, P, article.id, NOW)  # already published: no entry
    assert published.status == "published"
    assert published.published_at is not None
    with sessions.begin() as session:
        entries = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "support.article_published")
        ).all()
        assert [(e.project_id, e.target) for e in entries] == [(P, f"article {article.id}")]
        draft = kb.unpublish(session, P, article.id)
    assert draft.status == "draft"
    assert draft.published_at is None


def test_an_article_needs_a_title_and_text_before_it_is_published(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        with pytest.raises(InvalidInput) as no_title:
            kb.create_article(session, P, NOW, title="   ", body="text")
        assert no_title.value.field == "title"
        with pytest.raises(InvalidInput) as bad_type:
            kb.create_article(session, P, NOW, title="T", body="", category="nonsense")
        assert bad_type.value.field == "category"
        empty = kb.create_article(session, P, NOW, title="To write", body="")
        with pytest.raises(InvalidInput) as no_body:
            kb.publish(session, TEST_ACTOR, P, empty.id, NOW)
        assert no_body.value.field == "body"


def test_another_projects_article_is_not_found(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        article = kb.create_article(session, OTHER, NOW, title="Theirs", body="x")
    with sessions.begin() as session:
        for call in (
            lambda: kb.get_article(session, P, article.id),
            lambda: kb.publish(session, TEST_ACTOR, P, article.id, NOW),
            lambda: kb.delete_article(session, P, article.id),
        ):
            with pytest.raises(NotFound):
                call()
        assert kb.list_articles(session, P) == []


def test_listing_filters_by_status_and_searches_titles(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        a = kb.create_article(session, P, NOW, title="Exporting a meal plan", body="x")
        kb.create_article(session, P, NOW, title="Refunds 100% explained", body="y")
        kb.publish(session, TEST_ACTOR, P, a.id, NOW)
        assert [x.title for x in kb.list_articles(session, P, status="published")] == [a.title]
        assert [x.title for x in kb.list_articles(session, P, search="MEAL")] == [a.title]
        assert [x.title for x in kb.list_articles(session, P, search="100%")] == [
            "Refunds 100% explained"
        ]
        assert [x.title for x in kb.list_articles(session, P, search="%")] == [
            "Refunds 100% explained"
        ]
        assert kb.list_articles(session, P, search="_") == []


def test_markdown_is_rendered_without_raw_html_or_unsafe_links() -> None:
    html = str(kb.render_markdown(
        "# Export\n\n<script>alert(1)</script>\n\n<b onclick=x()>bold</b>\n\n"
        "[bad](javascript:alert(1)) [data](data:text/html,hi) [ok](https://example.com/a) "
        "[here](/projects/1/support/kb)"
    ))  # fmt: skip
    assert "<script" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b " not in html
    assert 'href="javascript' not in html
    assert 'href="data' not in html
    assert '<a href="https://example.com/a" rel="nofollow noopener noreferrer">ok</a>' in html
    assert 'href="/projects/1/support/kb"' in html
    assert "<h1>Export</h1>" in html


def test_suggestions_put_the_nearest_published_article_first_then_its_type(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        export = kb.create_article(session, P, NOW, title="Exporting a meal plan",
                                   body="Open the plan, click Share and choose Export as PDF.",
                                   category="how_to")  # fmt: skip
        refund = kb.create_article(session, P, NOW, title="Getting a refund",
                                   body="Refunds go back to the card within 5 days.",
                                   category="billing")  # fmt: skip
        kb.create_article(session, P, NOW, title="Draft about exporting", body="Export",
                          category="how_to")  # fmt: skip
        for a in (export, refund):
            kb.publish(session, TEST_ACTOR, P, a.id, NOW)
    with sessions() as session:
        found = kb.suggest_articles(session, P, EXPORT[1][0] + "\n" + EXPORT[1][1], "how_to")
        assert [s.id for s in found] == [export.id]
        assert found[0].similarity is not None
        by_type = kb.suggest_articles(session, P, "Something else entirely", "billing")
        assert refund.id in [s.id for s in by_type]


# --- pages --------------------------------------------------------------------------------


def _kb(project_id: int) -> str:
    return f"/projects/{project_id}/support/kb"


def test_an_agent_writes_publishes_and_the_page_lists_it(
    client: TestClient, context: AppContext
) -> None:
    project = create_project(context)
    csrf = sign_in(client, create_user(context, Role.SUPPORT).email)
    empty = client.get(_kb(project.id))
    assert empty.status_code == 200
    assert "No published articles yet" in empty.text
    assert f'action="{_kb(project.id)}/proposals"' in empty.text
    made = client.post(f"{_kb(project.id)}/new", follow_redirects=False, data={
        "csrf_token": csrf, "title": "Exporting a meal plan", "category": "how_to",
        "body": "Open the plan.\n\n<script>alert(1)</script>"})  # fmt: skip
    assert made.status_code == 303
    url = made.headers["location"]
    done = client.post(f"{url}/publish", data={"csrf_token": csrf}, follow_redirects=False)
    assert done.status_code == 303
    page = client.get(_kb(project.id))
    published = page.text.split('id="published"')[1].split('id="drafts"')[0]
    assert "Exporting a meal plan" in published
    article = client.get(url)
    assert "&lt;script&gt;" in article.text
    assert "<script>alert" not in article.text
    api = client.get(f"/api/projects/{project.id}/support/kb").json()
    assert [a["title"] for a in api["articles"]] == ["Exporting a meal plan"]
    one = client.get(f"/api/projects/{project.id}/support/kb/{api['articles'][0]['id']}").json()
    assert one["status"] == "published"
    assert "&lt;script&gt;" in one["html"]


def test_a_viewer_reads_the_knowledge_base_but_cannot_write(
    client: TestClient, context: AppContext
) -> None:
    project = create_project(context)
    csrf = sign_in(client, create_user(context, Role.VIEWER).email)
    page = client.get(_kb(project.id))
    assert page.status_code == 200
    assert "/support/kb/proposals" not in page.text
    assert "/support/kb/new" not in page.text
    assert client.get(f"{_kb(project.id)}/new").status_code == 403
    refused = client.post(f"{_kb(project.id)}/new", data={"csrf_token": csrf, "title": "T"})
    assert refused.status_code == 403
    assert client.post(f"{_kb(project.id)}/proposals", data={"csrf_token": csrf}).status_code == 403
    assert client.get(f"/api/projects/{project.id}/support/kb").json() == {"articles": []}


def test_an_empty_title_is_shown_beside_its_field_and_nothing_is_saved(
    client: TestClient, context: AppContext
) -> None:
    project = create_project(context)
    csrf = sign_in(client, create_user(context, Role.SUPPORT).email)
    bad = client.post(f"{_kb(project.id)}/new",
                      data={"csrf_token": csrf, "title": "  ", "body": "Kept text"})  # fmt: skip
    assert bad.status_code == 422
    assert 'id="e-title"' in bad.text
    assert "1 to 300 characters" in bad.text
    assert "Kept text" in bad.text
    assert client.get(f"/api/projects/{project.id}/support/kb").json() == {"articles": []}


def test_another_projects_article_answers_404(client: TestClient, context: AppContext) -> None:
    mine, theirs = create_project(context, "Mine"), create_project(context, "Theirs")
    csrf = sign_in(client, create_user(context, Role.SUPPORT).email)
    with transaction(context.sessions) as session:
        article = kb.create_article(session, theirs.id, NOW, title="Theirs", body="x")
    assert client.get(f"{_kb(mine.id)}/{article.id}").status_code == 404
    assert client.get(f"/api/projects/{mine.id}/support/kb/{article.id}").status_code == 404
    posted = client.post(f"{_kb(mine.id)}/{article.id}/delete", data={"csrf_token": csrf})
    assert posted.status_code == 404
    assert client.get(f"{_kb(theirs.id)}/{article.id}").status_code == 200


def test_the_propose_button_creates_drafts_and_says_how_many(
    client: TestClient, context: AppContext
) -> None:
    project = create_project(context)
    now = datetime.now(UTC)
    with transaction(context.sessions) as session:
        ids = export_tickets(session, project_id=project.id, solved_at=now - timedelta(days=1))
    csrf = sign_in(client, create_user(context, Role.SUPPORT).email)
    page = client.post(f"{_kb(project.id)}/proposals", data={"csrf_token": csrf})
    assert page.status_code == 200
    assert "1 new draft" in page.text
    assert "6 tickets this week about" in page.text
    again = client.post(f"{_kb(project.id)}/proposals", data={"csrf_token": csrf})
    assert "No new drafts" in again.text
    drafts = client.get(f"/api/projects/{project.id}/support/kb?status=draft").json()["articles"]
    assert len(drafts) == 1
    assert sorted(drafts[0]["source_tickets"]) == sorted(ids)
    article = client.get(f"{_kb(project.id)}/{drafts[0]['id']}")
    assert f'/projects/{project.id}/support/tickets/{ids[0]}"' in article.text
