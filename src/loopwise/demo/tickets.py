"""The support-tickets generator: the simulated people's help-desk history, recorded through
the support area's import path (``support.facade.record_ticket``), and the ``$exception``
events that precede their bug reports (``ingest.facade.capture``).

Tickets follow what happened to each person: renewals that failed (read from the billing
simulation itself, ``billing.person_billing_events``: same invoices, amounts, dates and
decline codes) bring billing tickets a few hours later; paid invoices a few invoice
requests; cancellations (with the reason the ``subscription_cancelled`` event gives) and
downgrades cancellation requests and plan questions; the features a person uses how-to
questions, feature requests and bug reports about those features, each bug report after a
few errors in the product. A business-wide incident (menu export broken by a release in the
last complete week) adds a burst of near-identical bug reports: the trending category and
a knowledge-base cluster.

Every message is assembled from independent parts (greeting, introduction, the problem in
one of several phrasings naming the person's own plan, feature, amounts and dates, a
detail, a mood, a sign-off), in varied length and register, sometimes in lower case or with
typos, and in German, Spanish or French for some people in those countries. Agents (a
fixed team in three queues) answer within business hours; their resolutions name the
facts of the case, so they read well as suggested replies for similar tickets.

Randomness: each person's draws come from ``default_rng([seed, STREAM, index, part])``,
one part per kind of story, so adding a kind changes no other; the incident from
``[seed, STREAM]``; the error events from ``[seed, ERROR_STREAM, index]``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from loopwise.core.audit import Actor
from loopwise.core.db import transaction
from loopwise.demo import catalog
from loopwise.demo.acquisition import device_properties
from loopwise.demo.billing import person_billing_events
from loopwise.demo.billing_terms import terms as billing_terms
from loopwise.demo.contracts import Delivered, DemoTarget
from loopwise.demo.population import DAY, Business, SimPerson
from loopwise.demo.product_events import person_events
from loopwise.ingest.contracts import CaptureEvent
from loopwise.ingest.facade import capture, uuid4_texts
from loopwise.support.contracts import ROUTINE_INTENTS, NewMessage, NewTicket, category_of
from loopwise.support.facade import (
    record_ticket,
    save_template,
    set_support_settings,
    update_ticket,
)

STREAM = 4  # tickets: default_rng([seed, STREAM, person index, part])
ERROR_STREAM = 5  # the errors before bug reports: default_rng([seed, ERROR_STREAM, index])
SOURCE = "demo"
DOMAIN = "recipely.example"
HOUR, MINUTE = timedelta(hours=1), timedelta(minutes=1)

# Parts of a person's ticket stream.
_PROFILE, _BILLING, _PLANS, _USAGE, _BUGS, _ACCOUNT, _OTHER, _SPIKE, _STORY = range(9)

# Tickets per active person-day (times the person's propensity), by kind of story.
RATES: dict[str, float] = {
    "password": 0.0006, "access": 0.0004, "how_to": 0.0009, "feature_request": 0.0004,
    "bug": 0.00045, "plan_question": 0.00035, "billing_question": 0.0005, "other": 0.00018,
}  # fmt: skip
# Chance of a ticket after a billing or plan event.
AFTER_FAILURE, AFTER_INVOLUNTARY, AFTER_REFUND, PER_INVOICE = 0.45, 0.45, 0.25, 0.03
BEFORE_CANCEL, BEFORE_UPGRADE, BEFORE_DOWNGRADE, AFTER_TRIAL, CLOSE_ACCOUNT = (
    0.4, 0.15, 0.3, 0.12, 0.05,
)  # fmt: skip
MAX_TICKETS = 7  # per person
UNLINKED_SHARE = 0.03  # written from an address the identity service does not know
FOREIGN_SHARE = 0.45  # people in DE, ES, FR (and AR, MX) who write in their language
SPIKE_SHARE, SPIKE_MIN = 0.013, 8  # incident tickets per active person, and at least
SPIKE_FEATURE = "menu_export"
REOPEN_SHARE, CSAT_SHARE, THANKS_SHARE, PENDING_SHARE = 0.06, 0.33, 0.35, 0.45
CLOSE_AFTER = timedelta(days=4)  # solved tickets are closed four days later
NO_REPLY_SOLVE = timedelta(days=5)  # pending without an answer: solved by automation
PENDING_SOLVE = timedelta(days=3)  # an answer left pending for confirmation: solved then
AUTOMATION = Actor("Recipely automation")


@dataclass(frozen=True)
class Agent:
    name: str
    email: str
    queue: str

    @property
    def first(self) -> str:
        return self.name.split(" ")[0]


AGENTS: tuple[Agent, ...] = (
    Agent("Maria Keller", f"maria@{DOMAIN}", "billing"),
    Agent("Tom Okafor", f"tom@{DOMAIN}", "billing"),
    Agent("Sven Lindqvist", f"sven@{DOMAIN}", "technical"),
    Agent("Priya Raman", f"priya@{DOMAIN}", "technical"),
    Agent("Lucia Ferrer", f"lucia@{DOMAIN}", "general"),
    Agent("Jonas Weber", f"jonas@{DOMAIN}", "general"),
)
ROUTING: tuple[tuple[str, str], ...] = (("billing", "billing"), ("bug", "technical"))


# --- records -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TicketStory:
    """One ticket as the help desk saw it: first recorded with its conversation up to its
    first solve; then labelled with a routine intent by the agent, reopened by a later
    customer message and solved again, and closed, as the fields say."""

    ticket: NewTicket
    agent: str = ""
    intent: str = ""
    labelled_at: datetime | None = None
    later: tuple[NewMessage, ...] = ()
    solved_again: datetime | None = None
    closed_at: datetime | None = None


@dataclass(frozen=True)
class SupportSetup:
    """The project's support settings and response templates, set once per load."""

    features: tuple[str, ...]
    routing: tuple[tuple[str, str], ...]
    templates: tuple[tuple[str, str, str], ...]  # (name, intent or category, body)


@dataclass(frozen=True)
class Issue:
    """Why a person writes in, before any text: the kind of story, when, and its facts."""

    kind: str
    at: datetime
    feature: str = ""
    topic: int = 0
    facts: Mapping[str, str] = field(default_factory=dict)
    spike: bool = False


class SupportTickets:
    """Generator of the people's support tickets; needs the app database. Runs after the
    billing generator, so tickets find their requester's billing context."""

    name = "support tickets"
    app_database = True

    def generate(
        self, business: Business, people: Sequence[SimPerson]
    ) -> Iterator[TicketStory | SupportSetup]:
        if any(person.index == 0 for person in people):
            yield setup()
        for person in people:
            yield from person_tickets(business, person)

    def deliver(
        self, target: DemoTarget, records: Sequence[TicketStory | SupportSetup]
    ) -> Delivered:
        stored = 0
        with transaction(target.app_database()) as session:
            for record in records:
                if isinstance(record, SupportSetup):
                    _apply_setup(session, target, record)
                else:
                    stored += _store(session, target, record)
        return Delivered(tickets=stored)


class SupportErrors:
    """Generator of the ``$exception`` events people hit before reporting a bug."""

    name = "errors before bug reports"

    def generate(self, business: Business, people: Sequence[SimPerson]) -> Iterator[CaptureEvent]:
        for person in people:
            yield from person_errors(business, person)

    def deliver(self, target: DemoTarget, records: Sequence[CaptureEvent]) -> Delivered:
        written = capture(
            target.warehouse, target.project_id, records, received_at=target.received_at
        )
        times = [event.timestamp for event in records]
        return Delivered(written, min(times, default=None), max(times, default=None))


def _store(session: Session, target: DemoTarget, story: TicketStory) -> int:
    project, now = target.project_id, target.received_at
    received = record_ticket(session, project, story.ticket, now)
    if not received.created:
        return 0
    agent = Actor(story.agent or AUTOMATION.label)
    if story.intent and story.labelled_at is not None:
        update_ticket(session, agent, project, received.ticket_id, story.labelled_at,
                      category=story.intent)  # fmt: skip
    if story.later:
        again = replace(story.ticket, messages=story.later, status="", solved_at=None)
        record_ticket(session, project, again, now)
        if story.solved_again is not None:
            update_ticket(session, agent, project, received.ticket_id, story.solved_again,
                          status="solved")  # fmt: skip
    if story.closed_at is not None:
        update_ticket(session, AUTOMATION, project, received.ticket_id, story.closed_at,
                      status="closed")  # fmt: skip
    return 1


def _apply_setup(session: Session, target: DemoTarget, found: SupportSetup) -> None:
    routing = [{"category": category, "queue": queue} for category, queue in found.routing]
    set_support_settings(session, target.actor, target.project_id,
                         features=list(found.features), routing=routing)  # fmt: skip
    for name, category, body in found.templates:
        save_template(session, target.project_id, name, category, body, target.received_at)


def setup() -> SupportSetup:
    """The catalog's features, the routing of billing and bugs, and the team's templates."""
    return SupportSetup(tuple(f.name for f in catalog.FEATURES), ROUTING, TEMPLATES)


_SIGNED = "\n\nBest,\nThe Recipely support team"
TEMPLATES: tuple[tuple[str, str, str], ...] = (
    ("Invoice copy", "invoice_request",
     "Hi {{ first_name }},\n\nEvery invoice of your {{ plan }} subscription is under Settings → "
     "Billing → Invoices, each with a PDF download: {{ link }}\n\nIf you add your company "
     "address and VAT number on the same page, they are printed on every invoice. Your next "
     "invoice is due on {{ next_billing_date }}." + _SIGNED),
    ("Password reset", "password_reset",
     "Hi {{ first_name }},\n\nYou can choose a new password here: {{ link }}\nThe link is "
     "valid for 60 minutes. If our e-mail does not arrive within a few minutes, please look "
     "in your spam folder for a message from no-reply@" + DOMAIN + "." + _SIGNED),
    ("Which plan fits", "plan_question",
     "Hi {{ first_name }},\n\nYou are on {{ plan }} at the moment. Pro ($19/month) adds "
     "costing, scaling and nutrition labels for one cook; Team ($79/month per kitchen) adds "
     "inventory, team sharing and comments for the whole kitchen. The plans side by side: "
     "{{ link }}\n\nYou can switch at any time: a change applies at once, and your next "
     "invoice on {{ next_billing_date }} shows the new price." + _SIGNED),
    ("Cancel a subscription", "cancellation_request",
     "Hi {{ first_name }},\n\nYou can cancel your {{ plan }} subscription in one click here: "
     "{{ link }}\nOnce cancelled, nothing more is charged on {{ next_billing_date }}. Your "
     "account stays on Free with all your recipes, and Settings → Data → Export gives you a "
     "copy of everything." + _SIGNED),
    ("Failed payment", "billing",
     "Hi {{ first_name }},\n\nThe last payment for your {{ plan }} subscription was declined "
     "by your bank. We retry automatically and you keep full access in the meantime. To "
     "settle it right away, update your card here: {{ link }}\n\nYour next regular billing "
     "date is {{ next_billing_date }}." + _SIGNED),
)  # fmt: skip


# --- what people write about -------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    """A kind of ticket: the agent's label and queue, and the phrasings of its subject,
    the customer's problem, optional details, the agent's resolution, the agent's
    clarifying question and the customer's answer to it ({slots} filled from the facts)."""

    label: str
    queue: str
    subjects: tuple[str, ...]
    asks: tuple[str, ...]
    details: tuple[str, ...]
    answers: tuple[str, ...]
    clarify: tuple[str, ...] = ()
    clarify_share: float = 0.0
    follow: tuple[str, ...] = ()
    mood: str = "calm"  # calm, upset or urgent: which emotional lines fit
    priority: str = "normal"


@dataclass(frozen=True)
class Topic:
    """One thing people ask, request or report about a feature, with the agents' answers."""

    asks: tuple[str, ...]
    answers: tuple[str, ...]


FEATURE_TEXT: dict[str, tuple[str, ...]] = {
    "recipe_editor": ("the recipe editor", "editing recipes", "the editor"),
    "recipe_import": ("recipe import", "importing recipes", "the import"),
    "recipe_scaling": ("recipe scaling", "scaling recipes", "the scale button"),
    "shopping_list": ("shopping lists", "the shopping list", "the shared list"),
    "meal_planner": ("the meal planner", "menu planning", "the weekly planner"),
    "cost_calculator": ("the cost calculator", "recipe costing", "food cost"),
    "nutrition_labels": ("nutrition labels", "the nutrition label generator", "labels"),
    "inventory": ("inventory", "stock counts", "the inventory page"),
    "team_sharing": ("team sharing", "sharing recipes with my team", "the team page"),
    "menu_export": ("menu export", "exporting menus", "the PDF export"),
}
FEATURE_UI: dict[str, str] = {
    "recipe_editor": "Recipe editor", "recipe_import": "Import", "recipe_scaling": "Scale",
    "shopping_list": "Shopping list", "meal_planner": "Planner", "cost_calculator": "Costing",
    "nutrition_labels": "Nutrition labels", "inventory": "Inventory", "team_sharing": "Team",
    "menu_export": "Export",
}  # fmt: skip
PLACES: dict[str, str] = {
    "home_cook": "home kitchen", "food_blogger": "food blog", "cafe": "café",
    "restaurant": "restaurant", "bakery": "bakery", "catering": "catering company",
    "meal_prep": "meal-prep business",
}  # fmt: skip
DISHES = (
    "lamb tagine", "sourdough", "pad thai", "banana bread", "risotto", "chili con carne",
    "lemon tart", "pho", "shakshuka", "lasagne", "granola", "fish pie", "dal", "brownies",
)  # fmt: skip
WHEN = (
    "since yesterday", "since this morning", "since Monday", "for two days now", "today",
    "since the weekend", "for about a week", "since last night",
)  # fmt: skip

GREETINGS = (
    "Hi,", "Hello,", "Hi there,", "Hey,", "Hi team,", "Hello Recipely team,", "Dear Support,",
    "Good morning,", "Good afternoon,", "Hi support,", "Hiya,", "Hello there,", "Hey folks,",
)  # fmt: skip
INTROS = (
    "I run {company_or}.", "I'm the head chef at {company_or}.", "Quick question.",
    "Sorry if this has been asked before.", "I hope you can help.", "Long-time user here.",
    "We're fairly new to Recipely.", "I manage the kitchen at {company_or}.",
    "I use Recipely for my {place}.", "Writing on behalf of {company_or}.",
)  # fmt: skip
MOODS: dict[str, tuple[str, ...]] = {
    "calm": (
        "No rush.",
        "Thanks in advance!",
        "Hope you can help.",
        "Love the app otherwise :)",
        "Appreciate the help.",
        "Cheers for any tips.",
        "Have a nice day!",
    ),
    "upset": (
        "This is really frustrating.",
        "Not happy, to be honest.",
        "Please sort this out quickly.",
        "I'd appreciate a fast answer.",
        "Honestly a bit annoyed.",
        "We pay for this, so I expect it to work.",
    ),
    "urgent": (
        "We have service tonight!!",
        "Please hurry, the team is waiting.",
        "This is urgent.",
        "Need this fixed asap.",
        "We're stuck until this works.",
        "Dinner service starts at 6, please help!",
    ),
}
SIGNOFFS = (
    "Thanks,\n{first}", "Thank you!\n{name}", "Cheers,\n{first}", "Best regards,\n{name}",
    "Kind regards,\n{name}\n{company_or}", "Regards, {first}", "-- {first}", "{first}",
    "Best,\n{first} ({company_or})", "Thanks\n{name}", "Many thanks,\n{name}", "Ta, {first}",
    "{name}\nSent from my iPhone", "Greetings from {company_or},\n{first}",
)  # fmt: skip
MARKERS = ("— {name}", "{name}\n{company_or}", "(account: {email})", "Thanks, {name}")
GENERIC_SUBJECTS = (
    "help", "Help!", "Question", "quick question", "Support request", "hello?", "(no subject)",
    "Problem", "urgent", "issue", "Hi", "Recipely",
)  # fmt: skip
THANKS = (
    "Thanks, that worked!", "Perfect, thank you.", "Great, all sorted.", "thx!",
    "Brilliant, thanks {agent_first}.", "That did it, thanks a lot.", "Ok got it, thank you",
    "Thank you so much {agent_first}!", "Works now. Cheers!", "Super, thanks for the quick help",
)  # fmt: skip
REOPEN_ASKS = (
    "Sorry, me again: it happened again today.", "Still not solved, I'm afraid.",
    "I tried that but it still doesn't work for me.", "Hm, same thing again this morning.",
    "Thanks, but I still don't see it on my side.", "Reopening this, the problem is back.",
)  # fmt: skip
REOPEN_ANSWERS: dict[str, tuple[str, ...]] = {
    "bug": (
        "Sorry it's back. I reproduced it again: it was a second case of the same problem, and "
        "the fix for it went out an hour ago. Please reload the page (Ctrl+Shift+R) and try "
        "once more.",
        "Thanks for telling me. The first fix missed one case; our engineers shipped a second "
        "one this afternoon. A hard refresh of the page is enough to pick it up.",
    ),
    "billing": (
        "I looked again: the payment went through on the retry, so the invoice is now paid "
        "and nothing more is needed from you. You'll see one charge only.",
        "Thanks for checking back. Your account and the invoice are both in order now, and "
        "I've added a note so we keep an eye on the next renewal.",
    ),
    "account_access": (
        "I've reset the login again and signed out all old sessions. Please use only the "
        "newest e-mail we send; older links stop working once a new one is sent.",
        "Sorry about that. I've cleared the lock on your account and sent a fresh link; "
        "open it on the device you log in with.",
    ),
}
REOPEN_DEFAULT = (
    "Sorry it didn't work the first time. I've gone through it again on your account and "
    "changed it for you directly, so there is nothing more you need to do.",
    "Thanks for coming back to me. I've checked it once more step by step on our side and "
    "it's now done on your account.",
)
CSAT_COMMENTS: dict[str, tuple[str, ...]] = {
    "good": (
        "Quick and helpful, thanks!",
        "Super fast answer.",
        "Solved my problem.",
        "Very friendly.",
        "{agent_first} was great",
        "Clear explanation, thank you",
    ),
    "bad": (
        "Took too long.",
        "Had to write twice.",
        "Still not happy with how this went.",
        "Slow answer.",
        "The problem should not have happened in the first place.",
    ),
}
EMPATHY: dict[str, tuple[str, ...]] = {
    "calm": ("Thanks for reaching out!", "Happy to help with that.", "Nice to hear from you."),
    "upset": (
        "Sorry for the trouble.",
        "I'm sorry about this, I understand it's annoying.",
        "Apologies for the hassle.",
    ),
    "urgent": ("Sorry about this — I know timing matters.", "Let's get this sorted quickly."),
}
AGENT_GREETINGS = (
    "Hi {first},", "Hello {first},", "Hi {first}, thanks for writing in.", "Dear {first},",
    "Hey {first},", "Hi {first} — thanks for getting in touch.",
)  # fmt: skip
AGENT_CLOSINGS = (
    "Let me know if anything else comes up.", "Happy cooking!", "Hope that helps!",
    "Just reply here if you have any other questions.", "Have a great service!", "",
)  # fmt: skip
AGENT_SIGNATURES = (
    "{agent_first}\nRecipely Support", "— {agent_first}", "Best,\n{agent_first} from Recipely",
    "Cheers,\n{agent_first}", "Kind regards,\n{agent_name}\nRecipely Support",
)  # fmt: skip
FOREIGN_PREFIX: dict[str, tuple[str, ...]] = {
    "de": ("Danke für Ihre Nachricht! I'll answer in English, I hope that's fine.",),
    "es": ("¡Gracias por tu mensaje! I'll reply in English if that's OK.",),
    "fr": ("Merci pour votre message ! I'll answer in English, I hope that's alright.",),
}
ESCALATION_NOTES = (
    "Reproduced on staging, filed ENG-{ticket_ref}.",
    "Escalated to engineering (ENG-{ticket_ref}).",
    "Can reproduce with the customer's account. Bug ENG-{ticket_ref}.",
)  # fmt: skip
ESCALATION_ACKS = (
    "Thanks for the details — I can reproduce it and have passed it to our engineers. "
    "I'll update you here as soon as there is a fix.",
    "Thank you for the report. I've passed it to the development team with your example and "
    "will come back to you once it's fixed.",
    "Confirmed on our side, sorry about that. Engineering is on it; I'll keep you posted.",
)


_WHERE_CARD = "Settings → Billing → Payment method"
KINDS: dict[str, Kind] = {
    "payment_failed": Kind(
        "billing",
        "billing",
        (
            "Payment failed",
            "Why did my payment fail?",
            "card declined??",
            "Problem with my {plan} renewal",
            "Re: Action required: your payment failed",
            "billing issue",
            "Renewal of {amount} didn't go through",
            "Payment problem",
            "Charge declined on {date} but my card works everywhere else",
        ),
        (
            "I got an email saying the payment for my {plan} subscription failed. The card "
            "should be fine, can you check what happened?",
            "My renewal of {amount} on {date} was declined. {decline_line}",
            "why was my card declined? the email says '{decline_message}'",
            "We just got a 'payment failed' notice for our {plan} plan ({amount}). What do I "
            "need to do so we don't lose access?",
            "You tried to charge {amount} on {date} and it failed. Will you try again or do I "
            "have to pay manually? {decline_line}",
            "Payment for {company_or} failed apparently. {decline_line} How do I update the card?",
            "I received a failed payment email this morning for {amount}. Is my account going to "
            "be locked?",
            "The {amount} charge for {plan} bounced ({card}). {decline_line} Can I pay another "
            "way?",
        ),
        (
            "I answer as fast as I can.",
            "I've been a customer since {signup_month}.",
            "We can't lose access to our recipes during service.",
            "Our card is a company card.",
            "I updated my details last month, maybe that's related.",
        ),
        (
            "I checked your account: the renewal of {amount} on {date} was declined by your bank "
            "with the reason “{decline_reason}”. {decline_advice} We'll retry the payment "
            "automatically {retry}; you keep full access to {plan} in the meantime.",
            "The charge for your {plan} plan ({amount}, {date}) didn't go through: the card "
            "issuer returned “{decline_reason}”. {decline_advice} As soon as a working card is on "
            "file, the open invoice is paid right away, so you don't need to wait for the next "
            "retry {retry}.",
            "Nothing is wrong with your account itself: the bank declined the {amount} payment "
            "on {date} ({decline_reason}). {decline_advice} Your access stays as it is while we "
            "retry (next attempt {retry}).",
        ),
        mood="upset",
        priority="high",
    ),
    "involuntary": Kind(
        "billing",
        "billing",
        (
            "Account downgraded??",
            "Why am I on the free plan?",
            "lost my {plan} features",
            "Subscription cancelled without my consent",
            "Reactivate {plan} please",
            "Where did costing go?",
        ),
        (
            "Why is my account back on the free plan?? I never cancelled {plan}.",
            "All our {plan} features are gone since {date}. Did something happen with the payment?",
            "We lost access to costing and our shared recipes today. I got some emails about "
            "the payment but thought you would retry. How do we get {plan} back?",
            "my subscription was cancelled because the card failed? can you reactivate it, i "
            "have a new card now",
            "Our {plan} subscription seems to have ended on {date}. The card was replaced by "
            "the bank, that's probably why. Please help us restore it.",
        ),
        (
            "All our recipes are still there I hope?",
            "We had the plan since {signup_month}.",
            "I did not see the emails because they went to spam.",
        ),
        (
            "Your {plan} subscription ended on {date} after the last payment attempts were "
            "declined ({decline_reason}), so the account moved to Free. Nothing is lost: your "
            "recipes, menus and costings are all still there. To reactivate, choose {plan} "
            "under Settings → Billing and add the new card; everything unlocks immediately.",
            "I'm sorry about the confusion. The renewal of {amount} failed at every retry (the "
            "bank said “{decline_reason}”), and after the last one the subscription was "
            "cancelled on {date}. Your data is safe. If you subscribe to {plan} again from "
            "Settings → Billing with a working card, you'll be back where you were within a "
            "minute.",
        ),
        mood="upset",
        priority="high",
    ),
    "invoice": Kind(
        "invoice_request",
        "billing",
        (
            "Invoice",
            "invoice for {month}",
            "Need a receipt",
            "Copy of invoice {invoice}",
            "VAT invoice please",
            "Receipt for accounting",
            "invoice with company name",
            "Where can I find my invoices?",
            "Invoice request - {company_or}",
        ),
        (
            "Could you send me the invoice for {month}? Our accountant needs it.",
            "I need a proper invoice for the {amount} payment on {date}, with our company name "
            "on it.",
            "where do i download invoices? need the one from {month}",
            "Can I get a copy of invoice {invoice}? I can't find the email.",
            "Our bookkeeping needs a VAT invoice for the {plan} subscription ({amount}, paid "
            "{date}). Can you add our VAT number?",
            "Please send the receipt for the last payment ({amount}) to accounts@{domain}.",
            "I need the invoice for {month} for my tax return.",
            "Could you re-issue invoice {invoice} with {company_or} as the billing name?",
        ),
        (
            "It's for the quarterly VAT return.",
            "The accountant wants PDFs, not screenshots.",
            "Our VAT number is on file I think.",
            "We need it by the end of the week.",
        ),
        (
            "You'll find every invoice under Settings → Billing → Invoices, each with a PDF "
            "download. The one you're after is {invoice}: {amount} for {period}, paid on {date}. "
            "I've also attached it here.",
            "Here you go: invoice {invoice} ({amount}, {period}) is attached. For the future, "
            "all invoices are under Settings → Billing → Invoices, and you can add a VAT number "
            "and company address there so they appear on every invoice.",
            "I've attached invoice {invoice} for {amount}, covering {period}. If you add your "
            "company details and VAT number under Settings → Billing → Billing details, they "
            "are printed on this and future invoices: just download it again after saving.",
        ),
        priority="low",
    ),
    "refund": Kind(
        "billing",
        "billing",
        ("Refund?", "Where is my refund", "refund of {amount}", "Refund not received"),
        (
            "I was told I'd get a refund of {amount} but I don't see it on my statement yet.",
            "When will the refund of {amount} show up on my card?",
            "the refund from {date} hasn't arrived. can you check?",
        ),
        ("It's been a few days.", "My bank says they see nothing pending."),
        (
            "The refund of {amount} was issued on {date} and is on its way to your card. Banks "
            "usually take 5 to 10 business days to show it; if it hasn't appeared by then, reply "
            "here and I'll send you the reference number for your bank.",
            "I can confirm we refunded {amount} on {date}. It normally appears within 5 to 10 "
            "business days, sometimes as a separate credit rather than a reversal of the "
            "original charge.",
        ),
    ),
    "billing_coupon": Kind(
        "billing",
        "billing",
        ("Discount not applied?", "{coupon} code", "Coupon question", "Charged full price?"),
        (
            "I signed up with {coupon} but I'm not sure the discount is applied. My last payment "
            "was {amount}.",
            "Does the {coupon} discount still apply to my {plan} plan? The invoice {invoice} "
            "confuses me.",
            "quick one: is my {coupon} coupon still active?",
        ),
        ("I used the link from the newsletter.", "A friend told me about the code."),
        (
            "Yes, {coupon} is applied to your subscription: invoice {invoice} shows {amount} "
            "after the discount, instead of the list price of {full_price}. {coupon_term}",
            "The {coupon} coupon is on your {plan} subscription, which is why you paid {amount} "
            "rather than {full_price}. {coupon_term}",
        ),
        priority="low",
    ),
    "billing_annual": Kind(
        "billing",
        "billing",
        ("Annual billing?", "Switch to yearly", "Yearly plan price", "Annual Team plan"),
        (
            "Can we switch our Team plan to annual billing? What would it cost for {kitchens}?",
            "Is there a discount if we pay for a year upfront? We currently pay {amount} a month.",
            "Our finance team prefers one invoice a year. Is that possible for Team?",
        ),
        ("We've been happy with Team so far.", "We're planning the budget for next year."),
        (
            "Yes: annual Team costs $790 per kitchen per year, ten months' price, so two months "
            "are free. For {kitchens} that's {annual_price} a year instead of {yearly_monthly}. "
            "You can switch under Settings → Billing → Change billing period; the yearly "
            "invoice starts at your next renewal.",
            "You can move to yearly billing any time under Settings → Billing → Change billing "
            "period. It's $790 per kitchen per year (two months free), so {annual_price} for "
            "{kitchens}; your current month runs out first, then you're billed once a year.",
        ),
        priority="low",
    ),
    "billing_double": Kind(
        "billing",
        "billing",
        ("Charged twice?", "Double charge", "two charges this month", "Duplicate payment"),
        (
            "I see two charges of {amount} on my card this month. Were we charged twice?",
            "My bank shows {amount} twice around {date}. Please refund one of them.",
            "why are there 2 payments to recipely on my statement??",
        ),
        ("It's the company card.", "The second one is still pending."),
        (
            "Only one payment of {amount} went through, on {date}. The other line is the "
            "declined attempt from before it: your bank shows it as pending and releases it "
            "within a few days, so you won't be charged twice.",
            "I checked the payment history: one successful payment of {amount} on {date}, and "
            "one declined attempt just before it. Declined attempts can show as pending for a "
            "few days and then disappear; no refund is needed.",
        ),
        mood="upset",
    ),
    "billing_email": Kind(
        "billing",
        "billing",
        ("Billing email", "Change invoice recipient", "Send invoices to accounting"),
        (
            "Can the invoices go to our accountant instead of me? Her address is "
            "accounts@{domain}.",
            "How do I change the email address that receives the receipts?",
            "Please send future invoices to billing@{domain} as well.",
        ),
        (),
        (
            "Yes: under Settings → Billing → Billing details you can set a separate billing "
            "e-mail. Receipts and invoices then go there, while your login stays {email}.",
            "I've set the billing e-mail for you, and receipts will go there from the next "
            "invoice on. You can change it yourself under Settings → Billing → Billing details.",
        ),
        priority="low",
    ),
    "billing_kitchens": Kind(
        "billing",
        "billing",
        ("Price question", "Why {amount}?", "Invoice amount higher than expected"),
        (
            "Our last invoice was {amount}, but I thought Team was $79. Why the difference?",
            "Can you explain the amount of {amount} on our last invoice?",
        ),
        ("Maybe I misunderstood the pricing page.",),
        (
            "Team is billed per kitchen: $79 a month each, and your account has {kitchens}, "
            "so {amount} a month. If one of them no longer uses Recipely, you can remove it under "
            "Settings → Kitchens and the next invoice goes down accordingly.",
            "The invoice is {kitchens} at $79 each, {amount} in total. Kitchens are managed "
            "under Settings → Kitchens; removing one takes effect on the next invoice.",
        ),
        priority="low",
    ),
    "trial": Kind(
        "billing",
        "billing",
        ("Trial ended", "Extend trial?", "{plan} trial"),
        (
            "Our {plan} trial ended on {date} and we didn't get to test everything. Could you "
            "extend it?",
            "the trial is over but my team only started using it last week. any chance of a few "
            "more days?",
        ),
        ("We're comparing a few tools.",),
        (
            "Trials can't be restarted once they've ended, but nothing is lost: your recipes "
            "are all still there on Free. When you're ready, upgrade to {plan} under "
            "Settings → Billing and everything you set up during the trial is back at once.",
            "I can't reopen the trial itself, sorry, but I've added a one-month 50% discount "
            "(WELCOME50) to your account, so {plan} costs half for the first month if you "
            "upgrade under Settings → Billing.",
        ),
    ),
    "cancel_request": Kind(
        "cancellation_request",
        "billing",
        (
            "Cancel subscription",
            "cancellation",
            "Please cancel",
            "Cancel my {plan} plan",
            "How do I cancel?",
            "Stop subscription before renewal",
            "cancel",
        ),
        (
            "Please cancel my {plan} subscription. {reason_line}",
            "I'd like to cancel. {reason_line} Can you confirm I won't be charged again?",
            "How do I cancel {plan}? I couldn't find the button. {reason_line}",
            "cancel my subscription please, {reason_short}",
            "We want to stop the subscription for {company_or} before the next renewal. "
            "{reason_line}",
            "I want to cancel my plan effective immediately. {reason_line}",
        ),
        (
            "Please don't delete our recipes though.",
            "Thanks for everything so far.",
            "Can we still export the recipes afterwards?",
        ),
        (
            "Sorry to see you go! You can cancel in one click under Settings → Billing → Cancel "
            "plan: it takes effect straight away and nothing more is charged. Your account then "
            "stays on Free with all your recipes. {reason_answer}",
            "Of course. Under Settings → Billing, choose Cancel plan: your {plan} subscription "
            "ends at once and no further payment is taken. Settings → Data → Export gives you a "
            "copy of all recipes if you need one. {reason_answer}",
            "No problem: the Cancel plan button is at the bottom of Settings → Billing. Once "
            "you confirm, the {plan} subscription stops and you won't be charged again; your "
            "recipes stay available on Free. {reason_answer}",
        ),
        mood="calm",
    ),
    "close_account": Kind(
        "cancellation",
        "general",
        ("Delete my account", "Close account", "Remove my data", "account deletion"),
        (
            "Please delete my account and all my data. I'm not using Recipely anymore.",
            "I don't need Recipely anymore, can you close my account ({email})?",
            "How do I delete my account? Couldn't find it in settings.",
            "please remove my account {email} and stop sending me emails",
        ),
        ("It's nothing personal, I just cook less these days.", "Found another way to do it."),
        (
            "I've scheduled your account {email} for deletion: everything, including your "
            "recipes, is removed within 30 days, and you'll get a confirmation e-mail. If you "
            "want a copy first, Settings → Data → Export still works until then.",
            "Done: your account is closed and will be deleted in full within 30 days; marketing "
            "e-mails stop right away. Thanks for trying Recipely!",
        ),
        priority="low",
    ),
    "downgrade": Kind(
        "plan_question",
        "general",
        ("Downgrade question", "Team to Pro", "What happens if we downgrade?"),
        (
            "If we go from Team to Pro, what happens to my teammates and our shared recipes?",
            "Thinking of downgrading to Pro. Do we keep the inventory counts and comments?",
            "What would we lose by moving {company_or} from Team to Pro?",
        ),
        ("We're fewer people in the kitchen now.", "Budget is tight this quarter."),
        (
            "On Pro there is one user, so your teammates lose access, but every recipe they "
            "wrote stays in your book. Costing, scaling and nutrition labels stay; inventory and "
            "comments become read-only. The change applies at once and the next invoice is "
            "$19.",
            "Moving to Pro keeps all recipes, costings and labels; what goes is the team part: "
            "only you can log in, and inventory and comments are kept read-only in case you "
            "come back to Team. Pro is $19 a month from the next invoice.",
        ),
        priority="low",
    ),
    "plan_question": Kind(
        "plan_question",
        "general",
        (
            "Which plan?",
            "Pro or Team?",
            "Plan question",
            "Does {target} include {feature_ui}?",
            "pricing",
            "Upgrade question",
            "Plans",
        ),
        (
            "Does {target} include {feature_text}?",
            "What's the difference between Pro and Team for a {place} like ours?",
            "Is {feature_text} available on the {plan} plan?",
            "which plan do i need for {feature_text}?",
            "We're a {size}-person {place}. Would Pro be enough or do we need Team?",
            "Thinking about upgrading from {plan}. What would I get with {target}?",
        ),
        (
            "We mostly need {feature_text}.",
            "We're {size} people in the kitchen.",
            "I looked at the pricing page but it's not clear to me.",
        ),
        (
            "{feature_title} is part of {plans_with}. You're on {plan} now; if you upgrade "
            "under Settings → Billing, it's available straight away, and you can switch back at "
            "any time.",
            "Pro ($19/month) covers one cook with costing, scaling and nutrition "
            "labels; Team ($79/month per kitchen) adds inventory, team sharing and comments. "
            "{feature_title} comes with {plans_with}, so for what you describe I'd go with "
            "{target}.",
        ),
        priority="low",
    ),
    "password": Kind(
        "password_reset",
        "general",
        (
            "Password reset",
            "forgot password",
            "Can't log in - password",
            "reset link",
            "Password",
            "Reset link not working",
            "locked out - forgot my password",
        ),
        (
            "I forgot my password and the reset email never arrives.",
            "Can you reset my password? My login is {email}.",
            "password reset link says expired",
            "I can't remember my password and we have service in an hour!",
            "The reset link doesn't work on my phone, it just opens the login page again.",
            "I changed my password yesterday and now the new one doesn't work either.",
            "Help, I forgot my password. I use {email} to sign in.",
        ),
        (
            "I checked spam already.",
            "I'm on my phone at the moment.",
            "I tried three times.",
            "It worked fine until this week.",
        ),
        (
            "I've sent a fresh reset link to {email}; it's valid for 60 minutes. If it doesn't "
            "show up within a few minutes, check your spam folder for a mail from "
            f"no-reply@{DOMAIN}.",
            "Reset links expire after an hour, which is probably what happened. I've triggered "
            "a new one to {email}: open it on the same device you log in with.",
            "No problem: use 'Forgot password' on the sign-in page, or the link I've just sent "
            "to {email}. Our e-mails sometimes land in the Promotions or Spam folder.",
        ),
        mood="upset",
    ),
    "access_2fa": Kind(
        "account_access",
        "technical",
        ("2FA problem", "Lost phone - can't log in", "two-factor code", "Locked out (2FA)"),
        (
            "I got a new phone and can't get the two-factor code anymore.",
            "My authenticator app was on my old phone. How do I log in now?",
            "The verification code is always rejected when I sign in.",
        ),
        ("I still have my recovery codes somewhere, I think.", "The old phone broke."),
        (
            "I've verified your account and turned off two-factor authentication for {email}. "
            "Please sign in with your password and set it up again on the new phone under "
            "Settings → Security.",
            "Codes are rejected when the phone's clock is off by more than a minute; setting "
            "the time to automatic fixes it. I've also reset two-factor on {email} so you can "
            "set it up fresh under Settings → Security.",
        ),
        clarify=(
            "To make sure it's you: could you tell me the name of your kitchen in "
            "Recipely and roughly when you signed up?",
        ),
        clarify_share=0.6,
        follow=(
            "Sure, it's {company_or}, signed up around {signup_month}.",
            "{company_or}, since {signup_month}.",
        ),
        mood="urgent",
    ),
    "access_email": Kind(
        "account_access",
        "general",
        ("Change login email", "New email address", "update email"),
        (
            "I need to change my login email from {email} to a new address.",
            "We changed our domain. How do I update the email I log in with?",
        ),
        (),
        (
            "You can change it yourself under Settings → Profile → E-mail: we send a "
            "confirmation to the new address, and once you click it, that's your login. Your "
            "recipes and plan stay as they are.",
            "I've started the change for you: a confirmation is on its way to the new address. "
            "After you confirm, use it to sign in; {email} stops working as a login.",
        ),
        priority="low",
    ),
    "access_locked": Kind(
        "account_access",
        "technical",
        ("Account locked", "Too many attempts", "can't sign in"),
        (
            "It says my account is locked after too many attempts.",
            "I can't sign in, it keeps saying 'account temporarily locked'.",
            "locked out of my account, please help",
        ),
        ("My colleague may have tried with the wrong password.",),
        (
            "Locks lift by themselves after 15 minutes, but I've unlocked {email} now. If a "
            "colleague shares your login, it's safer to invite them as a teammate so each of "
            "you has your own password.",
            "I've unlocked the account. It locks after ten wrong passwords in a row; if you "
            "aren't sure of yours, use 'Forgot password' instead of trying again.",
        ),
        mood="urgent",
    ),
    "access_invite": Kind(
        "account_access",
        "general",
        ("Invite link expired", "Can't join team", "Invitation not working"),
        (
            "The invite link from my colleague says it expired. How do I join our team at "
            "{company_or}?",
            "I was invited to the team but the link doesn't work anymore.",
        ),
        ("The email is from last week.",),
        (
            "Invitations are valid for 7 days. I've sent a new one to {email}; it lands in "
            "your inbox as 'Join {company_or} on Recipely'. Your admin can also resend it under "
            "Team → Members.",
            "That invite had expired (they last 7 days). Ask your admin to click Resend next to "
            "your name under Team → Members, or use the fresh one I've just sent to {email}.",
        ),
    ),
    "access_google": Kind(
        "account_access",
        "general",
        ("Login with Google", "Password not accepted", "sign in problem"),
        (
            "I signed up with Google and now the login page asks me for a password.",
            "Which password? I always used the Google button to sign in.",
        ),
        (),
        (
            "Your account {email} uses Sign in with Google, so it has no password of its own: "
            "click 'Continue with Google' on the sign-in page. If you'd like a password too, "
            "set one under Settings → Security.",
            "No password is needed: your account is linked to Google. Use 'Continue with "
            "Google' and you're in; a separate password can be added under Settings → Security.",
        ),
        priority="low",
    ),
    "other_dpa": Kind(
        "other",
        "general",
        ("DPA", "Data processing agreement", "GDPR question", "Where is our data stored?"),
        (
            "Can you send us your data processing agreement? Our {place} needs it for GDPR.",
            "Where is our data stored, and is it in the EU?",
            "We need a signed DPA before our audit next month.",
        ),
        (),
        (
            "Our data processing agreement is available under Settings → Legal → DPA, "
            "pre-signed by us; download it, sign and keep a copy, no need to send it back. Data "
            "is stored in the EU (Frankfurt), with backups in the same region.",
            "I've attached our DPA, already signed on our side. Everything is hosted in the EU "
            "(Frankfurt) and never leaves it; the list of sub-processors is in the annex.",
        ),
        priority="low",
    ),
    "other_edu": Kind(
        "other",
        "general",
        ("Education discount?", "Cooking school", "Discount for students"),
        (
            "We're a cooking school with {size} students. Do you have an education discount?",
            "Is there a discount for culinary students?",
        ),
        (),
        (
            "Yes: cooking schools get Team at 50% off for all their kitchens. Reply with the "
            "school's name and website and I'll apply it to {company_or} within a day.",
            "We do: culinary schools and students get half price on Pro and Team. I've flagged "
            "your account; the discount shows on the next invoice once a teacher confirms.",
        ),
        priority="low",
    ),
    "other_thanks": Kind(
        "other",
        "general",
        ("Thank you!", "Just a note", "Love Recipely", "Feedback"),
        (
            "Just wanted to say that Recipely saved me hours this week. The {feature_text} "
            "is brilliant.",
            "No question, just a thank you. Our {place} runs so much smoother since we started.",
            "Not a support request, but you should know the team loves {feature_text}.",
        ),
        (),
        (
            "That's so nice to hear, thank you! I've shared your message with the whole team. "
            "If you ever feel like writing a short review, it helps other kitchens find us.",
            "Thank you for taking the time, it made our day. I've passed it on to the people "
            "who built {feature_text}.",
        ),
        priority="low",
    ),
    "other_partner": Kind(
        "other",
        "general",
        ("Partnership", "Affiliate program?", "Collaboration"),
        (
            "I write a food blog with a few thousand readers. Do you have an affiliate program?",
            "We'd like to recommend Recipely to our suppliers' customers. Is there a partner "
            "program?",
        ),
        (),
        (
            "We do have an affiliate program: 20% of the first year's payments for every "
            "kitchen you refer. You can sign up at recipely.app/partners and get your link "
            "right away.",
            "Thanks for thinking of us! The partner program gives 20% of the first year for "
            "each referral; I've sent the sign-up link to {email}.",
        ),
        priority="low",
    ),
}

# Frames of the feature tickets: subjects, details and follow-ups; the asks and answers are
# the feature's topics below.
KINDS |= {
    "how_to": Kind(
        "how_to",
        "general",
        (
            "How do I ...?",
            "Question about {feature_text}",
            "How to use {feature_ui}",
            "{feature_ui} question",
            "Help with {feature_text}",
            "Is there a way to do this?",
            "Can't figure out {feature_text}",
        ),
        (),
        (
            "I looked in the help center but couldn't find it.",
            "I'm new to Recipely.",
            "Watched the video but it's a bit fast.",
            "We have {count} recipes in there now.",
            "I'm on {device}.",
            "My colleague says it's possible but doesn't remember how.",
        ),
        (),
        priority="low",
    ),
    "feature_request": Kind(
        "feature_request",
        "general",
        (
            "Feature request",
            "Suggestion: {feature_text}",
            "Idea for {feature_ui}",
            "Would love this in Recipely",
            "Wish list",
            "{feature_ui} improvement",
        ),
        (),
        (
            "We'd happily pay more for it.",
            "A lot of {place}s would use this.",
            "Other tools we tried have it.",
            "We use {feature_text} every day.",
            "It would save us an hour a week.",
        ),
        (),
        priority="low",
    ),
    "bug": Kind(
        "bug",
        "technical",
        (
            "Bug",
            "{feature_ui} not working",
            "Error in {feature_text}",
            "Something is broken",
            "Problem with {feature_text}",
            "{feature_ui}: error message",
            "It doesn't work!!",
            "Error {error_code}",
        ),
        (),
        (
            "I'm using {browser} on {os}.",
            "Tried another browser, same thing.",
            "Cleared the cache, no change.",
            "It started {when}.",
            "Screenshot attached.",
            "It worked last week.",
            "Happens every time.",
            "The error says: {error}",
        ),
        (),
        (
            "Thanks for reporting this. Could you tell me which browser you're using and "
            "roughly when it last happened? A screenshot would help too.",
            "Sorry about that! Does it happen every time, or only with some recipes? If you can "
            "send the name of one that fails, I'll take a look.",
            "Thanks, I'm looking into it. Which device are you on, and does it work in a "
            "private window?",
        ),
        0.55,
        (
            "It's {browser} on {os}. Happens every time, screenshot attached.",
            "Every time, for example with our {dish}.",
            "I tried a private window, same error.",
            "{browser}, and it happened again {when}.",
            "On the {device}. Still broken.",
        ),
        mood="upset",
    ),
    "spike": Kind(
        "bug",
        "technical",
        (
            "Menu export broken",
            "Export fails",
            "PDF export not working",
            "menu export error",
            "Can't export our menu",
            "Export failed!!",
            "Problem exporting the menu to PDF",
            "Is export down?",
        ),
        (
            "Menu export has stopped working since {weekday}: I click Export PDF and after a "
            "while it just says 'Export failed'.",
            "We can't export our weekly menu to PDF anymore, it spins and then errors out.",
            "export fails!! tried 5 times, always 'Something went wrong while generating your PDF'",
            "Since the update this week the menu export gives an error for our {count}-dish menu.",
            "PDF export of the menu is broken? Error: {error}",
            "Is menu export down? Nobody in our kitchen can download the menu.",
            "Exporting the menu fails every time since {weekday}. We print it for the pass "
            "each day.",
        ),
        (
            "I'm using {browser} on {os}.",
            "Other exports work, only the menu fails.",
            "It worked fine last week.",
            "Tried PNG too, same problem.",
        ),
        (
            "You're right, and sorry about this: since Tuesday's update, exporting menus to PDF "
            "fails for many accounts, and our engineers are on it. Until it's fixed, you can "
            "print the menu from the planner with your browser's Print → Save as PDF.",
            "Thanks for letting us know. Menu export is failing for several customers since "
            "this week's release; we're working on a fix. Meanwhile, Print → Save as PDF from "
            "the planner gives you the same menu.",
        ),
        (),
        0.0,
        (),
        mood="urgent",
        priority="high",
    ),
}
SPIKE_ANSWERS = (
    "Menu export is fixed: the PDF service that broke with Tuesday's release was repaired on "
    "Thursday at 15:00 UTC, and exports work again, including long menus like yours. Thanks "
    "for your patience, and sorry for the trouble.",
    "Good news: the export bug from Tuesday's update is fixed since Thursday afternoon. Your "
    "menu exports to PDF again; if the page was open, reload it first.",
    "The fix for menu export is live (since Thursday, 15:00 UTC). It was a timeout in our "
    "PDF renderer after Tuesday's release; menus of any length export again. Sorry for the "
    "disruption!",
)
# A cancellation request the customer carried out before the agent's answer.
CANCELLED_ANSWERS = (
    "I can see the cancellation went through on {date}: your {plan} subscription has ended "
    "and you won't be charged again. Your recipes stay available on Free. {reason_answer}",
    "Thanks for letting us know. Your {plan} plan was cancelled on {date} and no further "
    "payments will be taken; Settings → Data → Export still gives you all your recipes. "
    "{reason_answer}",
)
SPIKE_ERROR = ("MenuExportError", "PDF render timed out after 30000 ms")

HOW_TO: dict[str, tuple[Topic, ...]] = {
    "recipe_editor": (
        Topic(
            (
                "How do I add a sub-recipe (like a sauce) inside another recipe?",
                "Can I use one recipe as an ingredient in another one? e.g. our {dish} base",
                "is there a way to link our house stock into other recipes?",
            ),
            (
                "Yes: in the editor, type the sub-recipe's name in an ingredient line and pick "
                "it from the list marked 'recipe'. Its cost and nutrition flow into the main "
                "recipe and update when you change it.",
                "Add it like any ingredient: start typing its name and choose the entry with "
                "the book icon. The quantity you enter is taken from the sub-recipe's yield, "
                "so costs and allergens carry over automatically.",
            ),
        ),
        Topic(
            (
                "How can I restore an older version of a recipe? Someone changed our {dish}.",
                "Is there a history of changes to a recipe?",
            ),
            (
                "Every save is kept: open the recipe, click ⋯ → History, pick the version "
                "and press Restore. The current one stays in the history too, so nothing is "
                "lost.",
                "Open the recipe and choose ⋯ → History: you'll see who changed what and "
                "when, and can restore any earlier version with one click.",
            ),
        ),
    ),
    "recipe_import": (
        Topic(
            (
                "How do I import recipes from a website?",
                "Can I bring in our recipes from a spreadsheet? We have {count} of them.",
                "what's the best way to import recipes from our old system?",
            ),
            (
                "Go to Recipes → Import and paste a web address, upload a PDF or photo, or "
                "drop in a spreadsheet (one recipe per row, ingredients in one column). You "
                "get a preview to check before anything is saved.",
                "Recipes → Import takes links, PDFs, photos and spreadsheets. For a big "
                "spreadsheet, download our template on that page first; columns that match "
                "are imported in one go, and you can fix the rest in the preview.",
            ),
        ),
    ),
    "recipe_scaling": (
        Topic(
            (
                "How do I scale a recipe from 4 to 40 portions?",
                "Can I scale a recipe by the weight of one ingredient, e.g. 5 kg of flour?",
                "how does scaling work with our {dish}?",
            ),
            (
                "Open the recipe and press Scale: enter the new number of portions, or pick "
                "one ingredient and enter the amount you have; everything else follows. "
                "Save as a copy if you want to keep the scaled version.",
                "Use Scale at the top of the recipe. Choose 'by portions' or 'by ingredient' "
                "(e.g. flour = 5 kg), and units convert automatically; 'Save as new' keeps "
                "both versions.",
            ),
        ),
    ),
    "shopping_list": (
        Topic(
            (
                "How do I make a shopping list from this week's menu?",
                "Can I share the shopping list with my supplier?",
            ),
            (
                "In the planner, open the week and click 'Shopping list': ingredients of all "
                "planned dishes are added up and grouped by aisle. Share it by link or "
                "e-mail from the list's ⋯ menu.",
                "Create it from Planner → Shopping list; quantities are summed over the week. "
                "The Share button sends a read-only link, which suppliers can open without "
                "an account.",
            ),
        ),
    ),
    "meal_planner": (
        Topic(
            (
                "How do I copy last week's plan to next week?",
                "Can I repeat a menu every week in the planner?",
                "is there a quick way to reuse an old menu plan?",
            ),
            (
                "In the planner, open last week, click ⋯ → Copy week and choose the target "
                "week. For a menu you repeat, save it as a template and drag it onto any "
                "week.",
                "Use ⋯ → Copy week in the planner, or save the week as a template (⋯ → Save "
                "as template) and apply it to as many weeks as you like.",
            ),
        ),
    ),
    "cost_calculator": (
        Topic(
            (
                "How do I update ingredient prices for costing?",
                "Our supplier changed prices. How do I update the cost of all recipes?",
                "Where do I enter the price per kg for {dish} ingredients?",
            ),
            (
                "Prices live under Ingredients → Prices: edit one, or upload your supplier's "
                "price list as a spreadsheet. Every recipe's cost updates at once, and you "
                "can see the change per recipe under Costing → History.",
                "Go to Ingredients → Prices and either edit prices one by one or import the "
                "supplier's list. All recipe costs recalculate immediately.",
            ),
        ),
        Topic(
            (
                "How do I set a target food cost percentage?",
                "Can Recipely suggest a menu price from our target margin?",
            ),
            (
                "Under Costing → Settings, set your target food cost (say 28%). Each recipe "
                "then shows the suggested menu price next to its cost, and recipes above "
                "target are highlighted.",
                "Set the target food cost in Costing → Settings; recipes get a suggested "
                "selling price and a warning when they go over it.",
            ),
        ),
    ),
    "nutrition_labels": (
        Topic(
            (
                "How do I make an EU nutrition label for our {dish}?",
                "Can I print allergen labels for the products we sell?",
            ),
            (
                "Open the recipe and click Nutrition → Label, choose the EU, US FDA or UK "
                "format, and download it as PDF or PNG. Allergens from the ingredients are "
                "highlighted automatically.",
                "Nutrition → Label on the recipe page builds it; pick the format and the "
                "portion size. Allergens are printed in bold as the EU rules require.",
            ),
        ),
    ),
    "inventory": (
        Topic(
            (
                "How do I do a stock count on my phone?",
                "Can I count stock by storage area (walk-in, dry store)?",
            ),
            (
                "Open Inventory → New count on your phone; items are listed by storage area, "
                "so you can walk through the walk-in and then the dry store. Counts save as "
                "you go.",
                "Set up storage areas under Inventory → Areas once; a new count then lists "
                "items area by area and works fine on a phone.",
            ),
        ),
    ),
    "team_sharing": (
        Topic(
            (
                "How do I give a new cook access only to view recipes?",
                "Can I invite my sous chef without giving them billing access?",
            ),
            (
                "Invite them under Team → Members and choose the role 'Viewer' (read-only) "
                "or 'Cook' (can edit recipes, no billing). You can change a role any time.",
                "Team → Members → Invite, then pick the role: Cooks edit recipes, Viewers "
                "only read, and only Admins see billing.",
            ),
        ),
    ),
    "menu_export": (
        Topic(
            (
                "How do I export our menu with prices to PDF?",
                "Can I change the layout of the exported menu?",
            ),
            (
                "In the planner, open the menu and click Export; choose PDF, PNG or print, "
                "and tick 'Show prices'. Layout options (one or two columns, logo) are "
                "under Export → Layout.",
                "Use Export on the menu page. Under Layout you can add your logo, switch to "
                "two columns and show or hide prices and allergens.",
            ),
        ),
    ),
}

REQUESTS: dict[str, tuple[Topic, ...]] = {
    "recipe_editor": (
        Topic(
            (
                "Please add a way to attach photos to each step of a recipe.",
                "It would be great to have step photos in the editor for our new cooks.",
                "Could you add video links to recipe steps?",
            ),
            (
                "Thanks for the suggestion! Step photos are on our roadmap for this "
                "quarter. I've added your vote; until then, one photo per recipe can go in "
                "the header.",
                "Great idea, and you're not the first to ask: step photos are planned. I've "
                "linked your request so you'll hear from us when it ships.",
            ),
        ),
    ),
    "recipe_import": (
        Topic(
            (
                "Would love an import from Instagram posts.",
                "Could you support importing from our old Excel files with several recipes "
                "per sheet?",
            ),
            (
                "Thanks! I've passed this to our product team. Today the import takes "
                "links, PDFs, photos and one-recipe-per-row spreadsheets; multi-recipe "
                "sheets are on the list.",
                "Good suggestion, I've logged it. Meanwhile a screenshot of the post works "
                "with the photo import, which reads the text.",
            ),
        ),
    ),
    "recipe_scaling": (
        Topic(
            (
                "Please let scaling round to practical amounts (whole eggs!).",
                "It would be nice if scaling could switch to bigger units automatically.",
            ),
            (
                "Thanks for the idea! Rounding to practical amounts is something we're "
                "designing right now. I've added your vote to it.",
                "I've passed this on: smarter rounding and unit switching are planned for scaling.",
            ),
        ),
    ),
    "shopping_list": (
        Topic(
            (
                "Could the shopping list be sorted by supplier?",
                "Please add supplier ordering straight from the shopping list.",
            ),
            (
                "Thanks! Sorting by supplier is on our roadmap; I've added your vote. For "
                "now you can group by aisle and filter by tag.",
                "Good one, I've logged it with the product team. Direct ordering needs "
                "supplier integrations, which we're looking into.",
            ),
        ),
    ),
    "meal_planner": (
        Topic(
            (
                "Please add a monthly view to the planner.",
                "It would be great if the planner could show food cost per day.",
                "Could we plan menus for two sites in one planner?",
            ),
            (
                "Thanks for the suggestion! A monthly view is planned; I've added your vote. "
                "Food cost per day already shows when you hover over a day in the week "
                "view.",
                "I've passed it to the product team, who are reworking the planner this "
                "year. You'll hear from us when it's out.",
            ),
        ),
    ),
    "cost_calculator": (
        Topic(
            (
                "Please add labour cost to recipe costing.",
                "Would love to see costing in two currencies.",
                "Could costing include packaging for takeaway?",
            ),
            (
                "Thanks, that's a common wish! Labour and packaging costs are on our "
                "roadmap for costing; I've added your vote.",
                "Good idea. I've logged it. Meanwhile you can add packaging as an "
                "ingredient with its price, which many takeaway kitchens do.",
            ),
        ),
    ),
    "nutrition_labels": (
        Topic(
            (
                "Please add Canadian nutrition label format.",
                "Could you support labels in French and German?",
            ),
            (
                "Thanks! More label formats are planned; I've added your vote for this one.",
                "I've passed it to the team working on labels. Languages are next on their list.",
            ),
        ),
    ),
    "inventory": (
        Topic(
            (
                "Could inventory warn us when stock is low?",
                "Please add barcode scanning for stock counts.",
            ),
            (
                "Thanks for the idea! Low-stock alerts are in development. I've added you "
                "to the beta list.",
                "Barcode scanning is on our roadmap; I've added your vote and will let you "
                "know when it's ready.",
            ),
        ),
    ),
    "team_sharing": (
        Topic(
            (
                "Please add comments with @mentions.",
                "It would be great to see who changed a recipe last.",
            ),
            (
                "Thanks! @mentions are planned for comments. You can already see who "
                "changed a recipe under ⋯ → History.",
                "I've logged it. Recipe history shows every change with its author today; "
                "mentions are coming later this year.",
            ),
        ),
    ),
    "menu_export": (
        Topic(
            (
                "Could menu export include allergens per dish?",
                "Please add Word export so we can edit the menu afterwards.",
            ),
            (
                "Thanks! Allergens on the exported menu are possible already: tick "
                "'Allergens' under Export → Layout. Word export I've added to our list.",
                "Good idea, I've passed it on. Until then, the PNG export works well with "
                "most design tools.",
            ),
        ),
    ),
}

BUGS: dict[str, tuple[Topic, ...]] = {
    "recipe_editor": (
        Topic(
            (
                "Saving a recipe fails with an error, I lost my changes to the {dish}.",
                "When I click save in the editor it says '{error}'",
                "the editor won't save long recipes",
            ),
            (
                "Thanks for your patience. Long recipes hit a timeout when saving, which we "
                "fixed in today's release. Your unsaved text is kept in the browser's draft: "
                "reload the page and press Save again.",
                "This was a timeout on saving recipes with many steps; it's fixed now. "
                "Reload the editor and your draft is still there to save.",
            ),
        ),
    ),
    "recipe_import": (
        Topic(
            (
                "Importing from a URL fails with an error.",
                "The import says it can't read the recipe from this website.",
                "recipe import from link not working: '{error}'",
            ),
            (
                "That site blocks automated readers, so the import can't read it. Copy the "
                "ingredients and method into Import → Paste text instead, which splits them "
                "into lines automatically.",
                "Some recipe sites block importers; that's what happened here. Paste the "
                "text into Import → Paste text, or save the page as PDF and import that.",
            ),
        ),
        Topic(
            (
                "My PDF import is stuck at 'processing' forever.",
                "Uploading our recipe PDF ({count} pages) never finishes.",
            ),
            (
                "Scanned PDFs over 10 pages time out at the moment. Split the file into "
                "smaller parts (or import a few pages as photos), and they go through.",
                "Large scanned PDFs time out; we're raising the limit. Until then, split it "
                "into parts of under 10 pages.",
            ),
        ),
    ),
    "recipe_scaling": (
        Topic(
            (
                "Scaling gives wrong quantities, some ingredients go to 0.",
                "When I scale our {dish} the salt becomes 0 g?",
            ),
            (
                "Scaling skipped units it can't convert ('pinch', 'to taste') and showed 0. "
                "That's fixed: those lines now keep their text unscaled. Please reload.",
                "Thanks! Units like 'pinch' couldn't be converted and came out as 0; since "
                "today's fix they stay as written.",
            ),
        ),
    ),
    "shopping_list": (
        Topic(
            (
                "The shared shopping list doesn't sync between my phone and my partner's.",
                "Items I tick off on the shopping list come back after a minute.",
            ),
            (
                "Two edits at the same moment caused a conflict that reverted the list. "
                "We fixed the sync this morning; please refresh the list on both phones.",
                "This was a sync conflict bug in shared lists, fixed now. Refresh on each "
                "device and ticked items stay ticked.",
            ),
        ),
    ),
    "meal_planner": (
        Topic(
            (
                "The planner page is blank since {weekday}.",
                "Meal planner shows nothing, just a white page.",
                "planner not loading: '{error}'",
            ),
            (
                "A menu with a deleted recipe made the planner crash for your week; we've "
                "fixed it, and the deleted dish now shows as 'removed recipe'. Please reload "
                "the planner.",
                "The blank page came from a dish whose recipe had been deleted. It's fixed: "
                "the planner loads again and marks that slot so you can replace it.",
            ),
        ),
    ),
    "cost_calculator": (
        Topic(
            ("Costing shows 'NaN' for some recipes.", "The cost of our {dish} suddenly says NaN"),
            (
                "Costing showed NaN when an ingredient had no price yet; now it shows '—' and "
                "lists the missing prices. Add them under Ingredients → Prices and the total "
                "appears.",
                "That happens when one ingredient has no price. We've fixed the display, and "
                "the recipe now tells you which prices to add under Ingredients → Prices.",
            ),
        ),
    ),
    "nutrition_labels": (
        Topic(
            (
                "Generating a nutrition label fails with an error.",
                "The nutrition label for our {dish} won't generate.",
            ),
            (
                "One ingredient wasn't in our nutrition database, which stopped the label. "
                "I've matched it for you, and the label generates now; you can also pick a "
                "close match yourself under the ingredient's Nutrition tab.",
                "The label failed on an ingredient we couldn't match. It's matched now; for "
                "new ones, the Nutrition tab of the ingredient lets you choose a match.",
            ),
        ),
    ),
    "inventory": (
        Topic(
            (
                "Stock count won't save when I enter 2,5 kg.",
                "Inventory gives an error when I type a decimal comma.",
            ),
            (
                "Decimal commas (2,5) were rejected; since today's fix both 2,5 and 2.5 are "
                "accepted. Please try the count again.",
                "Thanks! Counts with a decimal comma failed to save; that's fixed now.",
            ),
        ),
    ),
    "team_sharing": (
        Topic(
            (
                "Inviting a new cook fails with an error.",
                "I can't invite anyone to our team, it says error.",
            ),
            (
                "The invite failed because your plan's seat limit was reached without a "
                "clear message; we've fixed the message, and I've added one seat for your "
                "kitchen so the invite goes through now.",
                "Your account had reached its seat limit, and the error didn't say so. "
                "That's fixed, and your invite works now.",
            ),
        ),
    ),
    "menu_export": (
        Topic(
            (
                "PNG export of the menu cuts off the bottom.",
                "The exported menu image is missing the desserts at the bottom.",
            ),
            (
                "Menus longer than one page were cut off in PNG; PNG now makes one image per "
                "page. Please export again, or use PDF for long menus.",
                "This was a size limit in the PNG export, fixed today: long menus become "
                "several images. Export again and everything is there.",
            ),
        ),
    ),
}
BUG_ERRORS: dict[str, tuple[str, str]] = {
    "recipe_editor": ("SaveError", "Could not save recipe: request timed out"),
    "recipe_import": ("ImportError", "Could not parse a recipe from the page"),
    "recipe_scaling": ("UnitConversionError", "Cannot convert 'pinch' to grams"),
    "shopping_list": ("SyncConflictError", "Shopping list version conflict"),
    "meal_planner": ("TypeError", "Cannot read properties of undefined (reading 'dishes')"),
    "cost_calculator": ("CostingError", "No price for ingredient"),
    "nutrition_labels": ("NutritionLookupError", "Ingredient not found in nutrition database"),
    "inventory": ("ValidationError", "quantity must be a number"),
    "team_sharing": ("InviteError", "Could not send invitation"),
    "menu_export": ("RenderError", "Canvas size exceeded"),
}


@dataclass(frozen=True)
class Language:
    """What people write in another language: greetings, sign-offs, moods, thanks, and
    the subjects and problems of the kinds of ticket they write in it."""

    greetings: tuple[str, ...]
    signoffs: tuple[str, ...]
    moods: dict[str, tuple[str, ...]]
    thanks: tuple[str, ...]
    months: tuple[str, ...]
    date_format: str
    kinds: dict[str, tuple[tuple[str, ...], tuple[str, ...]]]  # kind: (subjects, asks)
    reasons: dict[str, str]


LANGUAGES: dict[str, Language] = {
    "de": Language(
        ("Hallo,", "Guten Tag,", "Hallo zusammen,", "Sehr geehrte Damen und Herren,", "Moin,"),
        (
            "Viele Grüße\n{first}",
            "Mit freundlichen Grüßen\n{name}",
            "Danke und Gruß,\n{name}",
            "LG {first}",
            "Beste Grüße\n{name}",
        ),
        {
            "calm": ("Vielen Dank im Voraus!", "Danke!"),
            "upset": ("Das ist wirklich ärgerlich.",),
            "urgent": ("Es ist dringend!", "Wir haben heute Abend Service!"),
        },
        ("Danke, hat geklappt!", "Super, vielen Dank.", "Perfekt, danke {agent_first}!"),
        (
            "Januar",
            "Februar",
            "März",
            "April",
            "Mai",
            "Juni",
            "Juli",
            "August",
            "September",
            "Oktober",
            "November",
            "Dezember",
        ),
        "%-d.%-m.%Y",
        {
            "password": (
                ("Passwort vergessen", "Passwort zurücksetzen", "Login geht nicht"),
                (
                    "Ich habe mein Passwort vergessen und die E-Mail zum Zurücksetzen "
                    "kommt nicht an. Mein Login ist {email}.",
                    "Können Sie bitte mein Passwort zurücksetzen? Der Link ist abgelaufen.",
                    "ich komme nicht mehr in mein konto, passwort vergessen. login: {email}",
                ),
            ),
            "invoice": (
                ("Rechnung", "Rechnung für {month}", "Rechnungskopie {invoice}"),
                (
                    "Ich brauche bitte eine Rechnung für {month} ({amount}) mit unserer "
                    "Firmenadresse.",
                    "Wo finde ich die Rechnungen? Unsere Buchhaltung braucht die "
                    "Rechnung vom {date}.",
                    "Bitte schicken Sie mir eine Kopie der Rechnung {invoice}.",
                ),
            ),
            "cancel_request": (
                ("Kündigung", "Abo kündigen", "Kündigung {plan}"),
                (
                    "Bitte kündigen Sie mein {plan}-Abo zum nächstmöglichen "
                    "Zeitpunkt. {reason_line}",
                    "Ich möchte mein Abonnement kündigen. {reason_line}",
                    "Wie kann ich kündigen? Ich finde den Button nicht. {reason_line}",
                ),
            ),
            "payment_failed": (
                ("Zahlung fehlgeschlagen", "Problem mit der Abbuchung"),
                (
                    "Die Zahlung von {amount} am {date} ist fehlgeschlagen. Die "
                    "Karte ist aber gültig, was ist da los?",
                    "Ich habe eine E-Mail bekommen, dass die Zahlung für {plan} "
                    "nicht geklappt hat ({amount}). Was muss ich tun?",
                ),
            ),
            "how_to": (
                ("Frage zu {feature_ui}", "Wie funktioniert {feature_ui}?"),
                (
                    "Wie kann ich „{feature_ui}“ benutzen? Ich finde die Einstellung nicht.",
                    "Gibt es eine Anleitung für „{feature_ui}“? Wir haben {count} Rezepte "
                    "und kommen nicht weiter.",
                ),
            ),
            "bug": (
                ("Fehler in {feature_ui}", "{feature_ui} funktioniert nicht"),
                (
                    "„{feature_ui}“ funktioniert seit gestern nicht mehr, es kommt nur eine "
                    "Fehlermeldung: {error}",
                    "Beim Öffnen von „{feature_ui}“ erscheint ein Fehler. Bitte um Hilfe.",
                ),
            ),
            "plan_question": (
                ("Frage zu den Tarifen", "Pro oder Team?"),
                (
                    "Ist „{feature_ui}“ im {target}-Tarif enthalten?",
                    "Was ist der Unterschied zwischen Pro und Team für einen Betrieb wie unseren?",
                ),
            ),
            "spike": (
                ("Menü-Export geht nicht", "Export-Fehler"),
                (
                    "Der Menü-Export als PDF funktioniert seit Dienstag nicht mehr, es "
                    "kommt immer 'Export failed'.",
                    "Menü-Export geht nicht, bitte dringend prüfen! Fehler: {error}",
                ),
            ),
            "close_account": (
                ("Konto löschen",),
                ("Bitte löschen Sie mein Konto und alle meine Daten.",),
            ),
        },
        {
            "too_expensive": "Es ist uns im Moment zu teuer.",
            "not_using_enough": "Wir nutzen es leider zu wenig.",
            "missing_feature": "Uns fehlt eine wichtige Funktion.",
            "switched_tool": "Wir wechseln zu einem anderen Programm.",
            "business_closed": "Wir schließen unseren Betrieb.",
        },
    ),
    "es": Language(
        ("Hola,", "Buenos días,", "Hola equipo,", "Estimados:", "Buenas,"),
        ("Gracias,\n{first}", "Saludos,\n{name}", "Un saludo,\n{first}", "Atentamente,\n{name}"),
        {
            "calm": ("¡Muchas gracias!", "Gracias de antemano."),
            "upset": ("Es bastante frustrante.",),
            "urgent": ("¡Es urgente!", "¡Tenemos servicio esta noche!"),
        },
        ("¡Gracias, ya funciona!", "Perfecto, muchas gracias.", "¡Genial, gracias {agent_first}!"),
        (
            "enero",
            "febrero",
            "marzo",
            "abril",
            "mayo",
            "junio",
            "julio",
            "agosto",
            "septiembre",
            "octubre",
            "noviembre",
            "diciembre",
        ),
        "%d/%m/%Y",
        {
            "password": (
                ("Contraseña", "No puedo entrar", "Restablecer contraseña"),
                (
                    "Olvidé mi contraseña y no me llega el correo para restablecerla. "
                    "Mi usuario es {email}.",
                    "¿Podéis restablecer mi contraseña? El enlace ha caducado.",
                    "no puedo entrar en mi cuenta, olvidé la contraseña ({email})",
                ),
            ),
            "invoice": (
                ("Factura", "Factura de {month}", "Copia de factura"),
                (
                    "Necesito la factura de {month} ({amount}) con los datos de la empresa.",
                    "¿Dónde descargo las facturas? Mi gestor necesita la del {date}.",
                    "Por favor, enviadme una copia de la factura {invoice}.",
                ),
            ),
            "cancel_request": (
                ("Cancelar suscripción", "Baja", "Darme de baja"),
                (
                    "Quiero cancelar mi suscripción {plan}. {reason_line}",
                    "Por favor, dad de baja mi plan {plan}. {reason_line}",
                ),
            ),
            "payment_failed": (
                ("Pago fallido", "Problema con el cobro"),
                (
                    "El pago de {amount} del {date} ha fallado, pero la tarjeta "
                    "funciona. ¿Qué ha pasado?",
                    "Me ha llegado un correo diciendo que el pago de {plan} no se "
                    "ha podido cobrar. ¿Qué tengo que hacer?",
                ),
            ),
            "how_to": (
                ("Pregunta sobre {feature_ui}", "¿Cómo funciona {feature_ui}?"),
                (
                    "¿Cómo se usa «{feature_ui}»? No encuentro la opción.",
                    "¿Hay alguna guía para «{feature_ui}»? Tenemos {count} recetas.",
                ),
            ),
            "bug": (
                ("Error en {feature_ui}", "{feature_ui} no funciona"),
                (
                    "«{feature_ui}» no funciona desde ayer, sale un error: {error}",
                    "Cuando abro «{feature_ui}» aparece un error. ¿Me podéis ayudar?",
                ),
            ),
            "plan_question": (
                ("Pregunta sobre planes", "¿Pro o Team?"),
                (
                    "¿El plan {target} incluye «{feature_ui}»?",
                    "¿Qué diferencia hay entre Pro y Team para un negocio como el nuestro?",
                ),
            ),
            "spike": (
                ("Exportación del menú", "Error al exportar"),
                (
                    "La exportación del menú a PDF falla desde el martes, siempre dice "
                    "'Export failed'.",
                    "No podemos exportar el menú, ¡es urgente! Error: {error}",
                ),
            ),
            "close_account": (
                ("Eliminar cuenta",),
                ("Por favor, eliminad mi cuenta y todos mis datos.",),
            ),
        },
        {
            "too_expensive": "Ahora mismo es demasiado caro para nosotros.",
            "not_using_enough": "No lo usamos lo suficiente.",
            "missing_feature": "Nos falta una función importante.",
            "switched_tool": "Nos cambiamos a otra herramienta.",
            "business_closed": "Cerramos el negocio.",
        },
    ),
    "fr": Language(
        ("Bonjour,", "Bonjour à toute l'équipe,", "Salut,", "Madame, Monsieur,"),
        (
            "Merci,\n{first}",
            "Cordialement,\n{name}",
            "Bien à vous,\n{name}",
            "Bonne journée,\n{first}",
        ),
        {
            "calm": ("Merci d'avance !", "Merci beaucoup."),
            "upset": ("C'est vraiment pénible.",),
            "urgent": ("C'est urgent !", "Nous avons le service ce soir !"),
        },
        ("Merci, ça marche !", "Parfait, merci beaucoup.", "Super, merci {agent_first} !"),
        (
            "janvier",
            "février",
            "mars",
            "avril",
            "mai",
            "juin",
            "juillet",
            "août",
            "septembre",
            "octobre",
            "novembre",
            "décembre",
        ),
        "%d/%m/%Y",
        {
            "password": (
                ("Mot de passe oublié", "Connexion impossible"),
                (
                    "J'ai oublié mon mot de passe et l'e-mail de réinitialisation "
                    "n'arrive pas. Mon identifiant est {email}.",
                    "Pouvez-vous réinitialiser mon mot de passe ? Le lien a expiré.",
                ),
            ),
            "invoice": (
                ("Facture", "Facture de {month}"),
                (
                    "Pourriez-vous m'envoyer la facture de {month} ({amount}) avec le "
                    "nom de la société ?",
                    "Où puis-je télécharger la facture {invoice} ?",
                ),
            ),
            "cancel_request": (
                ("Résiliation", "Annuler mon abonnement"),
                (
                    "Je souhaite résilier mon abonnement {plan}. {reason_line}",
                    "Merci d'annuler mon abonnement. {reason_line}",
                ),
            ),
            "payment_failed": (
                ("Paiement refusé", "Problème de paiement"),
                (
                    "Le paiement de {amount} du {date} a échoué, pourtant ma "
                    "carte fonctionne. Que se passe-t-il ?",
                ),
            ),
            "how_to": (
                ("Question sur {feature_ui}",),
                ("Comment utiliser « {feature_ui} » ? Je ne trouve pas l'option.",),
            ),
            "bug": (
                ("Erreur dans {feature_ui}",),
                ("« {feature_ui} » ne marche plus depuis hier, j'ai une erreur : {error}",),
            ),
            "plan_question": (
                ("Question sur les forfaits",),
                ("Est-ce que le forfait {target} inclut « {feature_ui} » ?",),
            ),
            "spike": (
                ("Export du menu impossible",),
                (
                    "L'export du menu en PDF ne fonctionne plus depuis mardi, toujours "
                    "'Export failed'.",
                ),
            ),
            "close_account": (
                ("Supprimer mon compte",),
                ("Merci de supprimer mon compte et toutes mes données.",),
            ),
        },
        {
            "too_expensive": "C'est trop cher pour nous en ce moment.",
            "not_using_enough": "Nous ne l'utilisons pas assez.",
            "missing_feature": "Il nous manque une fonction importante.",
            "switched_tool": "Nous passons à un autre outil.",
            "business_closed": "Nous fermons notre établissement.",
        },
    ),
}
WRITES_IN: dict[str, str] = {"DE": "de", "ES": "es", "FR": "fr"}

REASONS: dict[str, tuple[tuple[str, ...], str, str]] = {
    # reason: (the customer's lines, a short form, the agent's answer to it)
    "too_expensive": (
        (
            "It's just too expensive for us at the moment.",
            "{price} a month is more than we can justify right now.",
            "Money is tight this season.",
        ),
        "too expensive for us",
        "Thanks for the honest feedback on pricing; if it helps later, Pro "
        "keeps costing and scaling for a single cook at $19 a month.",
    ),
    "not_using_enough": (
        (
            "We're not using it enough to justify paying.",
            "Honestly we barely open it anymore.",
            "We just don't have the time to use it properly.",
        ),
        "we don't use it enough",
        "Thanks for giving us a try: the free plan keeps your recipe book "
        "going whenever you need it.",
    ),
    "missing_feature": (
        (
            "It doesn't do labour costing, which we really need.",
            "We need multi-site support and it isn't there yet.",
            "Without supplier ordering it doesn't fit our workflow.",
        ),
        "missing features we need",
        "I've passed what you're missing on to our product team; I'll let you know if it ships.",
    ),
    "switched_tool": (
        (
            "We've moved to another tool that our group uses.",
            "Our head office wants all sites on the same system.",
            "We're switching to our POS system's recipe module.",
        ),
        "we switched tools",
        "If you ever need your data in another format, reply here and we'll help.",
    ),
    "business_closed": (
        (
            "We're closing the {place} at the end of the month.",
            "The business is closing, unfortunately.",
            "We've sold the {place}.",
        ),
        "the business is closing",
        "I'm sorry to hear about the business, and thank you for being a customer.",
    ),
}
DECLINE_LINES: dict[str, tuple[tuple[str, ...], str]] = {
    # decline code: (how customers put it, the agent's advice)
    "insufficient_funds": (
        (
            "The bank says insufficient funds, which is odd.",
            "Apparently insufficient funds, my bad, payday is Friday.",
            "Maybe the account was a bit low that day.",
        ),
        "That usually clears by itself once funds are available.",
    ),
    "expired_card": (
        (
            "I think the card on file expired last month.",
            "We got new cards from the bank recently.",
            "The card might be the old one.",
        ),
        f"The card on file has expired, so please add the new one under {_WHERE_CARD}.",
    ),
    "incorrect_cvc": (
        (
            "Maybe I typed the security code wrong when I updated it?",
            "The email mentions the security code.",
        ),
        "Please re-enter the card with its security code under Settings → Billing.",
    ),
    "generic_decline": (
        ("The bank couldn't tell me why.", "My bank says they didn't block anything."),
        "Banks don't tell us more than that; a quick call to your bank or "
        "adding a different card usually sorts it.",
    ),
    "do_not_honor": (
        (
            "My bank says everything is fine on their side.",
            "No idea why, the card works everywhere else.",
        ),
        "Banks don't tell us more than that; a quick call to your bank or "
        "adding a different card usually sorts it.",
    ),
    "processing_error": (
        (
            "The message said something about a processing error.",
            "It mentioned a processing error.",
        ),
        "That's a temporary error on the card network's side, so the next "
        "retry normally goes through.",
    ),
    "lost_card": (
        (
            "I reported my old card lost, so that's probably it.",
            "I had to block my card last week.",
        ),
        f"That card has been reported lost, so please add your new card under {_WHERE_CARD}.",
    ),
}


# --- who writes in, and when --------------------------------------------------------------


@dataclass(frozen=True)
class Profile:
    """A person's habits with support: how readily they write, in which language, and the
    span in which they use the product inside the period."""

    propensity: float  # a multiplier of every rate, mean 1: some people write far more
    lang: str
    lo: datetime
    hi: datetime

    @property
    def days(self) -> float:
        return max(0.0, (self.hi - self.lo) / DAY)

    def chance(self, base: float) -> float:
        return min(0.95, base * math.sqrt(self.propensity))


def _rng(business: Business, person: SimPerson, part: int) -> np.random.Generator:
    return np.random.default_rng([business.seed, STREAM, person.index, part])


def profile_of(business: Business, person: SimPerson) -> Profile:
    rng = _rng(business, person, _PROFILE)
    foreign, propensity = float(rng.random()), float(rng.lognormal(-0.32, 0.8))
    lang = WRITES_IN.get(person.country, "en") if foreign < FOREIGN_SHARE else "en"
    lo = max(person.signup_at, business.start)
    hi = min(person.churn_at or business.end, business.end)
    return Profile(propensity, lang, lo, max(lo, hi))


def _activity(person: SimPerson) -> float:
    return math.sqrt(person.activity / 2.6)


def _pick_time(rng: np.random.Generator, person: SimPerson, lo: datetime, hi: datetime) -> datetime:
    """A moment in [lo, hi] at a local hour the person works, quieter at weekends."""
    offset = timedelta(minutes=person.utc_offset_minutes)
    weekend = 0.85 if person.personal else 0.35
    moment = lo
    for _ in range(12):
        moment = lo + (hi - lo) * float(rng.random())
        if (moment + offset).weekday() < 5 or rng.random() < weekend:
            break
    hours = catalog.HOURS_PERSONAL if person.personal else catalog.HOURS_BUSINESS
    hour = int(rng.choice(24, p=np.array(hours) / sum(hours)))
    local_day = (moment + offset).date()
    at = datetime.combine(local_day, time(hour), UTC) - offset
    at += timedelta(seconds=int(rng.integers(3600)))
    return at if lo <= at <= hi else moment


def _delay(rng: np.random.Generator, median_hours: float, sigma: float = 0.9) -> timedelta:
    return timedelta(hours=float(rng.lognormal(math.log(median_hours), sigma)))


def _uniform(rng: np.random.Generator, low: timedelta, high: timedelta) -> timedelta:
    return low + (high - low) * float(rng.random())


def _usable(person: SimPerson, moment: datetime) -> list[int]:
    """Features the person has taken up and their plan includes at ``moment``."""
    plan = catalog.PLANS.index(person.plan_at(moment))
    return [
        i
        for i, feature in enumerate(catalog.FEATURES)
        if feature.adoption[plan] > 0
        and (adopted := person.feature_adopted_at(i)) is not None
        and adopted <= moment
    ]


def _feature_at(
    rng: np.random.Generator, person: SimPerson, moment: datetime, power: float = 1.0
) -> str | None:
    """A feature the person uses at ``moment``, the ones used most intensely likelier."""
    usable = _usable(person, moment)
    if not usable:
        return None
    weights = np.array([catalog.FEATURES[i].intensity for i in usable]) ** power
    return catalog.FEATURES[int(rng.choice(usable, p=weights / weights.sum()))].name


def _day(moment: datetime) -> str:
    return moment.date().isoformat()


def _money(cents: int) -> str:
    return f"${cents / 100:,.2f}"


def _title(plan: str) -> str:
    return plan.title()


# --- the business-wide incident -----------------------------------------------------------


@dataclass(frozen=True)
class Spike:
    """A release that broke menu export in the last complete week before the end: who
    writes in about it, when it broke and when it was fixed."""

    release: datetime
    fix: datetime
    people: frozenset[int]


_SPIKES: dict[tuple[int, datetime, datetime, int], Spike | None] = {}


def spike_of(business: Business) -> Spike | None:
    """The incident of the business (drawn once from ``[seed, STREAM]``, so it does not
    depend on how people are grouped); None when the period is shorter than two weeks."""
    key = (business.seed, business.start, business.end, len(business.people))
    if key not in _SPIKES:
        if len(_SPIKES) >= 8:
            _SPIKES.clear()
        _SPIKES[key] = _draw_spike(business)
    return _SPIKES[key]


def _draw_spike(business: Business) -> Spike | None:
    day = business.end.date()
    monday = datetime.combine(day - timedelta(days=day.weekday() + 7), time(), UTC)
    if monday < business.start + 7 * DAY:
        return None
    over = monday + 7 * DAY
    active = [p for p in business.people
              if p.signup_at < monday and (p.churn_at is None or p.churn_at > over)]  # fmt: skip
    exporters = {f.name for f in catalog.FEATURES} & {SPIKE_FEATURE, "meal_planner"}
    eligible = [
        p.index
        for p in active
        if any(catalog.FEATURES[i].name in exporters for i in _usable(p, monday))
    ]
    count = min(len(eligible), max(SPIKE_MIN, round(SPIKE_SHARE * len(active))))
    rng = np.random.default_rng([business.seed, STREAM])
    chosen: list[int] = rng.choice(eligible, size=count, replace=False).tolist() if count else []
    return Spike(monday + DAY + 9 * HOUR, monday + 3 * DAY + 15 * HOUR,
                 frozenset(int(i) for i in chosen))  # fmt: skip


# --- what happens to people ---------------------------------------------------------------


@dataclass(frozen=True)
class Failure:
    at: datetime
    amount: int
    decline: str
    message: str
    card: str
    retry: datetime | None


@dataclass(frozen=True)
class Paid:
    at: datetime
    number: str
    amount: int
    subtotal: int
    period: tuple[datetime, datetime]
    plan: str
    quantity: int
    annual: bool


@dataclass
class BillingFacts:
    """What the billing simulation did to a person, read from their Stripe events."""

    failures: list[Failure] = field(default_factory=list)
    paid: list[Paid] = field(default_factory=list)
    refunds: list[tuple[datetime, int]] = field(default_factory=list)
    involuntary: tuple[datetime, Failure] | None = None
    coupon: str = ""
    trial_end: tuple[datetime, str] | None = None  # a lapsed trial: its end and plan


def _moment(stamp: int) -> datetime:
    return datetime.fromtimestamp(stamp, UTC)


def billing_facts(business: Business, person: SimPerson) -> BillingFacts:
    """The person's failed first attempts, paid invoices, refunds, involuntary end and
    coupon, as the billing generator's events record them."""
    found = BillingFacts()
    declined: dict[str, Failure] = {}
    for event in person_billing_events(business, person):
        kind, thing = event["type"], event["data"]["object"]
        if kind == "charge.failed":
            card = thing["payment_method_details"]["card"]
            declined[thing["invoice"]] = Failure(
                _moment(thing["created"]), thing["amount"], thing["outcome"]["reason"],
                thing["failure_message"], f"{card['brand'].title()} ending {card['last4']}", None,
            )  # fmt: skip
        elif kind == "invoice.payment_failed" and thing["attempt_count"] == 1:
            retry = thing["next_payment_attempt"]
            failure = replace(declined[thing["id"]], retry=_moment(retry) if retry else None)
            found.failures.append(failure)
        elif kind == "invoice.paid":
            line = thing["lines"]["data"][0]
            period = (_moment(line["period"]["start"]), _moment(line["period"]["end"]))
            found.paid.append(Paid(
                _moment(thing["status_transitions"]["paid_at"]), thing["number"],
                thing["amount_paid"], thing["subtotal"], period, line["price"]["nickname"],
                line["quantity"], line["price"]["recurring"]["interval"] == "year",
            ))  # fmt: skip
        elif kind == "charge.refunded":
            found.refunds.append((_moment(event["created"]), thing["amount_refunded"]))
        elif kind == "customer.subscription.deleted":
            reason = thing["cancellation_details"]["reason"]
            last = declined.get(thing["latest_invoice"] or "")
            if reason == "payment_failed" and last is not None:
                found.involuntary = (_moment(thing["canceled_at"]), last)
        if kind.startswith("customer.subscription") and thing.get("discount"):
            found.coupon = thing["discount"]["coupon"]["id"]
    terms = billing_terms(business, person)
    if terms is not None and terms.run is None and terms.trial_start is not None:
        found.trial_end = (terms.trial_start + timedelta(days=14), terms.trial_plan)
    return found


def person_issues(business: Business, person: SimPerson, profile: Profile) -> list[Issue]:
    """Why and when the person writes in over the period, in time order: everything from
    events in their billing and plan history, their use of features, their account."""
    if profile.days <= 0 and person.churn_at is None:
        return []
    facts = billing_facts(business, person)
    drawn = [
        *_billing_issues(business, person, profile, facts),
        *_plan_issues(business, person, profile, facts),
        *_usage_issues(business, person, profile),
        *_account_issues(business, person, profile),
    ]
    inside = sorted((i for i in drawn if business.start <= i.at < business.end),
                    key=lambda i: i.at)  # fmt: skip
    # Bug reports are never dropped: the errors before them are told separately.
    return sorted([*inside[:MAX_TICKETS], *bug_issues(business, person, profile)],
                  key=lambda i: i.at)  # fmt: skip


def _billing_issues(
    business: Business, person: SimPerson, profile: Profile, facts: BillingFacts
) -> list[Issue]:
    rng = _rng(business, person, _BILLING)
    found: list[Issue] = []
    for failure in facts.failures:
        if rng.random() < profile.chance(AFTER_FAILURE):
            at = failure.at + min(_delay(rng, 5.0), 2 * DAY)
            found.append(Issue("payment_failed", at, facts=_failure_facts(failure, person, at)))
    if facts.involuntary is not None and rng.random() < profile.chance(AFTER_INVOLUNTARY):
        ended, failure = facts.involuntary
        plan = person.plan_at(ended - MINUTE)
        found.append(Issue("involuntary", ended + _delay(rng, 10.0), facts={
            **_failure_facts(failure, person, ended), "date": _day(ended), "plan": _title(plan),
        }))  # fmt: skip
    for at, amount in facts.refunds:
        if rng.random() < profile.chance(AFTER_REFUND):
            found.append(Issue("refund", at + _uniform(rng, 3 * DAY, 9 * DAY),
                               facts={"amount": _money(amount), "date": _day(at)}))  # fmt: skip
    share = PER_INVOICE * (1.0 if person.personal else 1.6)
    for paid in facts.paid:
        if rng.random() < profile.chance(share):
            at = paid.at + _uniform(rng, 4 * HOUR, 20 * DAY)
            found.append(Issue("invoice", at, facts=_invoice_facts(paid)))
    if facts.trial_end is not None and rng.random() < profile.chance(AFTER_TRIAL):
        ended, plan = facts.trial_end
        found.append(Issue("trial", ended + _delay(rng, 20.0),
                           facts={"date": _day(ended), "plan": _title(plan)}))  # fmt: skip
    found += _billing_questions(rng, person, profile, facts)
    return found


def _failure_facts(failure: Failure, person: SimPerson, at: datetime) -> dict[str, str]:
    return {
        "amount": _money(failure.amount), "date": _day(failure.at), "decline": failure.decline,
        "decline_message": failure.message, "card": failure.card,
        "retry": _day(failure.retry) if failure.retry else "",
        "plan": _title(person.plan_at(failure.at)),
    }  # fmt: skip


def _invoice_facts(paid: Paid) -> dict[str, str]:
    return {
        "invoice": paid.number, "amount": _money(paid.amount), "date": _day(paid.at),
        "month": _day(paid.period[0]), "period_start": _day(paid.period[0]),
        "period_end": _day(paid.period[1]), "plan": paid.plan.split(" ")[0],
        "full_price": _money(paid.subtotal),
    }  # fmt: skip


def _billing_questions(
    rng: np.random.Generator, person: SimPerson, profile: Profile, facts: BillingFacts
) -> list[Issue]:
    """Questions about the bill while paying: coupon, annual billing, a double charge,
    the billing address, the amount of a Team invoice."""
    if not facts.paid:
        return []
    lo = max(profile.lo, facts.paid[0].at)
    paying = max(0.0, (profile.hi - lo) / DAY)
    found = []
    for _ in range(int(rng.poisson(RATES["billing_question"] * paying * profile.propensity))):
        at = _pick_time(rng, person, lo, profile.hi)
        last = [p for p in facts.paid if p.at <= at]
        if not last:
            continue
        paid = last[-1]
        options = ["billing_email"]
        if facts.coupon:
            options.append("billing_coupon")
        if paid.plan.startswith("Team") and not paid.annual:
            options.append("billing_annual")
        if paid.quantity > 1:
            options.append("billing_kitchens")
        if any(f.at <= at for f in facts.failures):
            options.append("billing_double")
        kind = options[int(rng.integers(len(options)))]
        found.append(Issue(kind, at, facts={**_invoice_facts(paid), "coupon": facts.coupon,
                                            "kitchens": str(paid.quantity)}))  # fmt: skip
    return found


def _cancel_reasons(business: Business, person: SimPerson) -> dict[datetime, str]:
    """The reasons the person's ``subscription_cancelled`` events give, by time."""
    if not any(c.kind == "cancel" and business.start <= c.at <= business.end
               for c in person.plans):  # fmt: skip
        return {}
    return {
        e.timestamp: str(e.properties.get("reason", ""))
        for e in person_events(business, person)
        if e.event == "subscription_cancelled"
    }


def _plan_issues(
    business: Business, person: SimPerson, profile: Profile, facts: BillingFacts
) -> list[Issue]:
    rng = _rng(business, person, _PLANS)
    reasons = _cancel_reasons(business, person)
    found: list[Issue] = []
    involuntary = facts.involuntary
    for before, change in zip(person.plans, person.plans[1:], strict=False):
        u = float(rng.random())
        if not business.start <= change.at <= business.end:
            continue
        if change.plan == "free":
            if involuntary is not None and abs(involuntary[0] - change.at) < DAY:
                continue
            if u < profile.chance(BEFORE_CANCEL):
                reason = reasons.get(change.at) or catalog.CANCEL_REASONS[int(rng.integers(5))]
                at = change.at - max(2 * HOUR, _delay(rng, 20.0))
                found.append(Issue("cancel_request", at, facts={
                    "plan": _title(before.plan), "date": _day(change.at), "reason": reason,
                    "cancelled_at": change.at.isoformat(),
                }))  # fmt: skip
        elif change.kind == "downgrade" and u < profile.chance(BEFORE_DOWNGRADE):
            at = change.at - _uniform(rng, HOUR, 4 * DAY)
            found.append(Issue("downgrade", at, facts={"plan": _title(before.plan)}))
        elif change.kind == "upgrade" and u < profile.chance(BEFORE_UPGRADE):
            at = change.at - _uniform(rng, 2 * HOUR, 6 * DAY)
            found.append(_plan_question(rng, person, at, change.plan, before.plan))
    churned = person.churn_at
    closing = float(rng.random())
    if (
        churned is not None
        and business.start <= churned < business.end
        and person.plan_at(churned) == "free"
        and closing < profile.chance(CLOSE_ACCOUNT)
    ):
        found.append(Issue("close_account", churned + _uniform(rng, 12 * HOUR, 20 * DAY)))
    for _ in range(int(rng.poisson(RATES["plan_question"] * profile.days * profile.propensity))):
        at = _pick_time(rng, person, profile.lo, profile.hi)
        plan = person.plan_at(at)
        if plan != "team":
            target = "team" if plan == "pro" or rng.random() < 0.3 else "pro"
            found.append(_plan_question(rng, person, at, target, plan))
    return found


def _plan_question(
    rng: np.random.Generator, person: SimPerson, at: datetime, target: str, plan: str
) -> Issue:
    """A question before moving from ``plan`` to ``target``, about a feature only the
    target includes (or one both include)."""
    to, now = catalog.PLANS.index(target), catalog.PLANS.index(plan)
    new = [f for f in catalog.FEATURES if f.adoption[to] > 0 and f.adoption[now] == 0]
    options = new or [f for f in catalog.FEATURES if f.adoption[to] > 0]
    feature = options[int(rng.integers(len(options)))]
    with_it = [_title(p) for k, p in enumerate(catalog.PLANS) if feature.adoption[k] > 0]
    plans_with = ("every plan, Free included" if len(with_it) == 3
                  else "Team only" if with_it == ["Team"] else " and ".join(with_it))  # fmt: skip
    return Issue("plan_question", at, feature.name, facts={
        "target": _title(target), "plan": _title(plan), "plans_with": plans_with,
    })  # fmt: skip


def _usage_issues(business: Business, person: SimPerson, profile: Profile) -> list[Issue]:
    """How-to questions and feature requests about the features the person uses most."""
    rng = _rng(business, person, _USAGE)
    found: list[Issue] = []
    for kind, power, topics in (("how_to", 1.0, HOW_TO), ("feature_request", 2.0, REQUESTS)):
        rate = RATES[kind] * profile.days * profile.propensity * _activity(person)
        for _ in range(int(rng.poisson(rate))):
            at = _pick_time(rng, person, profile.lo, profile.hi)
            feature = _feature_at(rng, person, at, power)
            if feature is not None:
                found.append(Issue(kind, at, feature, int(rng.integers(len(topics[feature])))))
    return found


def bug_issues(business: Business, person: SimPerson, profile: Profile) -> list[Issue]:
    """The person's bug reports: features they use breaking for them, and the incident."""
    rng = _rng(business, person, _BUGS)
    found: list[Issue] = []
    rate = RATES["bug"] * profile.days * profile.propensity * _activity(person)
    for _ in range(int(rng.poisson(rate))):
        at = _pick_time(rng, person, profile.lo, profile.hi)
        feature = _feature_at(rng, person, at)
        if feature is not None:
            found.append(Issue("bug", at, feature, int(rng.integers(len(BUGS[feature])))))
    spike = spike_of(business)
    if spike is not None and person.index in spike.people:
        spread = _rng(business, person, _SPIKE).exponential(18.0)
        at = min(spike.release + timedelta(hours=1 + float(spread)), spike.fix + 10 * HOUR)
        found.append(Issue("spike", at, SPIKE_FEATURE, spike=True))
    return [i for i in found if business.start <= i.at < business.end]


def _account_issues(business: Business, person: SimPerson, profile: Profile) -> list[Issue]:
    """Forgotten passwords (more among people who rarely log in), other sign-in trouble
    and the odd question about anything else."""
    rng = _rng(business, person, _ACCOUNT)
    scale = profile.days * profile.propensity
    forgetful = 1.5 if person.activity < 2.0 else 1.0
    found = [Issue("password", _pick_time(rng, person, profile.lo, profile.hi))
             for _ in range(int(rng.poisson(RATES["password"] * scale * forgetful)))]  # fmt: skip
    for _ in range(int(rng.poisson(RATES["access"] * scale))):
        at = _pick_time(rng, person, profile.lo, profile.hi)
        options = ["access_2fa", "access_email", "access_locked", "access_google"]
        if person.plan_at(at) == "team":
            options.append("access_invite")
        found.append(Issue(options[int(rng.integers(len(options)))], at))
    other = _rng(business, person, _OTHER)
    for _ in range(int(other.poisson(RATES["other"] * scale))):
        at = _pick_time(other, person, profile.lo, profile.hi)
        options = ["other_thanks", "other_partner"] if person.personal else [
            "other_dpa", "other_edu", "other_thanks"]  # fmt: skip
        kind = options[int(other.integers(len(options)))]
        found.append(Issue(kind, at, _feature_at(other, person, at) or "recipe_editor"))
    return found


# --- words --------------------------------------------------------------------------------

_TYPOS = {
    "the": "teh", "receive": "recieve", "please": "pls", "thanks": "thx", "because": "becuase",
    "don't": "dont", "can't": "cant", "invoice": "invocie", "password": "pasword",
    "account": "acount", "subscription": "subscripton", "separate": "seperate",
    "definitely": "definately", "recipe": "recipie", "recipes": "recipies",
}  # fmt: skip
_WORD = re.compile(r"[A-Za-z']{5,}")
_SIZES = {"1": (1, 1), "2-10": (3, 9), "11-50": (12, 40), "51-200": (55, 150),
          "201-1000": (210, 600)}  # fmt: skip


def _pick(rng: np.random.Generator, options: Sequence[str]) -> str:
    return options[int(rng.integers(len(options)))]


def _date_text(rng: np.random.Generator, iso: str, lang: str) -> str:
    """A date as a customer writes it: in one of several forms, in their language."""
    if not iso:
        return ""
    day = datetime.fromisoformat(iso)
    if lang != "en":
        return day.strftime(LANGUAGES[lang].date_format)
    return day.strftime(_pick(rng, ("%-d %B", "%B %-d", "%-d %b %Y", "%d/%m/%Y", "%-d %B %Y")))


def _month_text(iso: str, lang: str) -> str:
    day = datetime.fromisoformat(iso)
    return day.strftime("%B") if lang == "en" else LANGUAGES[lang].months[day.month - 1]


def _agent_date(iso: str) -> str:
    return datetime.fromisoformat(iso).strftime("%-d %B %Y") if iso else ""


@dataclass(frozen=True)
class Words:
    """The slots of one ticket: as the customer writes them, and as the agent does."""

    customer: dict[str, str]
    agent: dict[str, str]


def _slots(rng: np.random.Generator, person: SimPerson, issue: Issue, lang: str) -> Words:
    facts = dict(issue.facts)
    first = person.name.split(" ")[0]
    place = PLACES[person.segment]
    low, high = _SIZES.get(person.company_size, (3, 9))
    plan = facts.pop("plan", "") or _title(person.plan_at(issue.at))
    feature = issue.feature or "recipe_editor"
    texts = FEATURE_TEXT[feature]
    error_type, error_message = SPIKE_ERROR if issue.spike else BUG_ERRORS[feature]
    shared = {
        "first": first, "name": person.name, "email": person.email,
        "company_or": person.company or f"my {place}", "place": place,
        "size": str(int(rng.integers(low, high + 1))), "plan": plan,
        "price": f"${catalog.PRICES.get(plan.lower(), 19)}", "browser": person.browser,
        "os": person.os, "device": person.device.lower(), "count": str(int(rng.integers(12, 480))),
        "dish": _pick(rng, DISHES), "when": _pick(rng, WHEN),
        "domain": person.email.split("@")[1], "weekday": "Tuesday" if issue.spike
        else (issue.at - DAY).strftime("%A"),
        "signup_month": person.signup_at.strftime("%B %Y"), "feature_text": _pick(rng, texts),
        "feature_ui": FEATURE_UI[feature], "feature_title": texts[0][0].upper() + texts[0][1:],
        "error": f"{error_type}: {error_message}",
        "error_code": f"E-{int(rng.integers(1000, 9999))}",
        "ticket_ref": str(int(rng.integers(1200, 4800))),
        "invoice": "", "amount": "", "target": "", "plans_with": "", "kitchens": "",
        "coupon": "", "full_price": "", "card": "", "decline_message": "",
    }  # fmt: skip
    shared |= {k: v for k, v in facts.items() if k not in ("date", "retry", "month")}
    customer, agent = dict(shared), dict(shared)
    for key in ("date", "retry"):
        customer[key] = _date_text(rng, facts.get(key, ""), lang)
        agent[key] = _agent_date(facts.get(key, ""))
    agent["retry"] = f"on {agent['retry']}" if agent["retry"] else "over the next few days"
    month = facts.get("month") or facts.get("period_start") or facts.get("date", "")
    customer["month"] = _month_text(month, lang) if month else ""
    agent["month"] = _month_text(month, "en") if month else ""
    if "period_start" in facts:
        agent["period"] = (f"{_agent_date(facts['period_start'])} to "
                           f"{_agent_date(facts['period_end'])}")  # fmt: skip
    if "decline" in facts:
        lines, advice = DECLINE_LINES[facts["decline"]]
        customer["decline_line"] = _pick(rng, lines)
        agent["decline_reason"] = facts["decline"].replace("_", " ")
        agent["decline_advice"] = advice
    if "reason" in facts:
        said, short, answer = REASONS[facts["reason"]]
        foreign = LANGUAGES[lang].reasons[facts["reason"]] if lang != "en" else ""
        customer["reason_line"] = foreign or _pick(rng, said).format_map(shared)
        customer["reason_short"] = short
        agent["reason_answer"] = answer
    if facts.get("kitchens"):
        count = int(facts["kitchens"])
        agent["kitchens"] = customer["kitchens"] = (
            "one kitchen" if count == 1 else f"{count} kitchens"
        )
        agent["annual_price"] = _money(79_000 * count)
        agent["yearly_monthly"] = _money(7_900 * 12 * count)
    if facts.get("coupon"):
        agent["coupon_term"] = ("It stays on for as long as you keep the subscription."
                                if facts["coupon"] == "LAUNCH25"
                                else "It applies to your first three months.")  # fmt: skip
    return Words(customer, agent)


def _fill(text: str, slots: Mapping[str, str]) -> str:
    return text.format_map(slots)


def _asks(kind: Kind, issue: Issue, lang: str) -> tuple[str, ...]:
    if lang != "en":
        return LANGUAGES[lang].kinds[issue.kind][1]
    if issue.kind == "how_to":
        return HOW_TO[issue.feature][issue.topic].asks
    if issue.kind == "feature_request":
        return REQUESTS[issue.feature][issue.topic].asks
    if issue.kind == "bug":
        return BUGS[issue.feature][issue.topic].asks
    return kind.asks


def _language(profile: Profile, issue: Issue) -> str:
    if profile.lang == "en" or issue.kind not in LANGUAGES[profile.lang].kinds:
        return "en"
    return profile.lang


def _templates(options: Sequence[str], slots: Mapping[str, str]) -> list[str]:
    """The options that make sense for this person (no company: none that names it)."""
    if slots["company_or"].startswith("my "):
        return [o for o in options if "{company_or}" not in o] or list(options)
    return list(options)


def customer_message(
    rng: np.random.Generator, kind: Kind, issue: Issue, words: Words, lang: str, company: str
) -> str:
    """The customer's first message, put together from independent parts."""
    slots = words.customer
    foreign = LANGUAGES.get(lang)
    style = int(rng.choice(3, p=[0.25, 0.5, 0.25]))  # terse, normal, long
    ask = _fill(_pick(rng, _asks(kind, issue, lang)), slots)
    greetings = foreign.greetings if foreign else GREETINGS
    signoffs = foreign.signoffs if foreign else SIGNOFFS
    moods = (foreign.moods if foreign else MOODS)[kind.mood]
    details = [d for d in kind.details if foreign is None]
    sentences = []
    if style == 2 and foreign is None:
        sentences.append(_fill(_pick(rng, _templates(INTROS, slots)), slots))
    sentences.append(ask)
    if details and (style == 2 or (style == 1 and rng.random() < 0.45)):
        picked = rng.choice(len(details), size=min(len(details), 1 + (style == 2)), replace=False)
        sentences += [_fill(details[int(i)], slots) for i in picked]
    if rng.random() < (0.55 if style == 2 else 0.3):
        sentences.append(_pick(rng, moods))
    split = style == 2 and len(sentences) > 2 and rng.random() < 0.5
    body = "\n\n".join(sentences) if split else " ".join(sentences)
    greet = _pick(rng, greetings) if style > 0 or rng.random() < 0.3 else ""
    signs = _templates(signoffs, slots)
    sign = _fill(_pick(rng, signs), slots) if style > 0 or rng.random() < 0.4 else ""
    text = "\n\n".join(part for part in (greet, body) if part)
    if foreign is None:
        text = _register(rng, text, casual=style == 0)
    # Every message names its writer somewhere (their full name, address or company), as
    # real ones mostly do: no two people's tickets read exactly alike.
    known = [t.lower() for t in (slots["name"], slots["email"], company) if t]
    if not any(token in (text + sign).lower() for token in known):
        named = [o for o in signs if "{name}" in o]
        if not sign and foreign is None:
            named = _templates(MARKERS, slots)
        sign = _fill(_pick(rng, named), slots)
    return f"{text}\n\n{sign}" if sign else text
    return text


def _register(rng: np.random.Generator, text: str, *, casual: bool) -> str:
    """Lower case, missing punctuation and typos, as people type in a hurry."""
    u = rng.random(3)
    if u[0] < (0.35 if casual else 0.08):
        text = text.lower()
    if u[1] < (0.3 if casual else 0.05):
        text = re.sub(r"[.!]+(?=\s|$)", "", text)
    if u[2] < 0.2:
        addresses = [m.span() for m in re.finditer(r"\S+@\S+", text)]
        words = [m for m in _WORD.finditer(text)
                 if not any(a <= m.start() < b for a, b in addresses)]  # fmt: skip
        chosen = rng.choice(len(words), size=min(2, len(words)), replace=False)
        for index in sorted(chosen.tolist(), reverse=True):
            found = words[index]
            word = found.group()
            typo = _TYPOS.get(word.lower()) or word[:2] + word[3] + word[2] + word[4:]
            text = text[: found.start()] + typo + text[found.end() :]
    return text


def subject_line(
    rng: np.random.Generator, kind: Kind, issue: Issue, words: Words, lang: str, body: str
) -> str:
    u = float(rng.random())
    if lang != "en":
        subject = _fill(_pick(rng, LANGUAGES[lang].kinds[issue.kind][0]), words.customer)
    elif u < 0.12:
        subject = _pick(rng, GENERIC_SUBJECTS)
    elif u < 0.27:
        line = next(s for s in body.split("\n") if s and not s.endswith(","))
        subject = re.split(r"(?<=[.?!])\s", line)[0][:140]
    else:
        subject = _fill(_pick(rng, kind.subjects), words.customer)
    return subject.lower() if rng.random() < 0.1 else subject


def agent_message(
    rng: np.random.Generator, body: str, words: Words, mood: str, lang: str, *, first: bool,
    final: bool = True,
) -> str:  # fmt: skip
    """An agent's reply around ``body``: greeting, maybe sympathy, closing (for an answer,
    not a question), signature."""
    slots = words.agent
    parts = [_fill(_pick(rng, AGENT_GREETINGS), slots)]
    if first and lang in FOREIGN_PREFIX:
        parts.append(_pick(rng, FOREIGN_PREFIX[lang]))
    lead = _pick(rng, EMPATHY[mood]) + " " if first and rng.random() < 0.4 else ""
    parts.append(lead + _fill(body, slots))
    closing = _pick(rng, AGENT_CLOSINGS)
    if closing and final:
        parts.append(closing)
    parts.append(_fill(_pick(rng, AGENT_SIGNATURES), slots))
    return "\n\n".join(parts)


def _answers(kind: Kind, issue: Issue) -> tuple[str, ...]:
    if issue.kind == "how_to":
        return HOW_TO[issue.feature][issue.topic].answers
    if issue.kind == "feature_request":
        return REQUESTS[issue.feature][issue.topic].answers
    if issue.kind == "bug":
        return BUGS[issue.feature][issue.topic].answers
    if issue.kind == "spike":
        return SPIKE_ANSWERS
    return kind.answers


# --- the conversation ---------------------------------------------------------------------

RESPONSE_MINUTES = {"billing": 90.0, "general": 150.0, "technical": 180.0}  # working, median
TAGS: dict[str, tuple[str, ...]] = {
    "payment_failed": ("payment_failed",), "involuntary": ("payment_failed", "churned"),
    "invoice": ("invoice",), "refund": ("refund",), "cancel_request": ("cancellation",),
    "close_account": ("account_deletion",), "spike": ("menu_export", "incident"),
    "password": ("password",), "trial": ("trial",),
}  # fmt: skip


def _agent(rng: np.random.Generator, queue: str) -> Agent:
    team = [agent for agent in AGENTS if agent.queue == queue]
    return team[int(rng.integers(len(team)))]


def _working(moment: datetime) -> bool:
    """The team answers 07:00 to 19:00 UTC on weekdays, 09:00 to 13:00 at weekends."""
    return 7 <= moment.hour < 19 if moment.weekday() < 5 else 9 <= moment.hour < 13


def work_after(moment: datetime, minutes: float) -> datetime:
    """``minutes`` of the team's working time after ``moment``."""
    left = minutes
    while left > 0:
        if _working(moment):
            closing = moment.replace(hour=19 if moment.weekday() < 5 else 13, minute=0,
                                     second=0, microsecond=0)  # fmt: skip
            step = min(left, (closing - moment) / MINUTE)
            moment += step * MINUTE
            left -= step
        else:
            moment = (moment + HOUR).replace(minute=0, second=0, microsecond=0)
    return moment


def _response(rng: np.random.Generator, queue: str, priority: str, scale: float = 1.0) -> float:
    """Working minutes until an agent answers: minutes to a day, faster when urgent."""
    median = RESPONSE_MINUTES[queue] * scale * (0.4 if priority in ("high", "urgent") else 1.0)
    return float(np.clip(rng.lognormal(math.log(median), 1.0), 2.0, 1440.0))


def _customer_delay(rng: np.random.Generator) -> timedelta:
    return timedelta(hours=float(np.clip(rng.lognormal(math.log(3.0), 1.2), 0.07, 96.0)))


@dataclass
class _Thread:
    """A ticket's messages after the first, as they happen."""

    customer: str
    agent: Agent
    prefix: str  # of the messages' external ids
    messages: list[NewMessage] = field(default_factory=list)

    def says(self, body: str, at: datetime) -> None:
        self.messages.append(NewMessage(body, "customer", self.customer, at))

    def answers(self, body: str, at: datetime, *, public: bool = True) -> None:
        self.messages.append(NewMessage(body, "agent", self.agent.email, at, public))


@dataclass(frozen=True)
class _Outcome:
    answered: datetime | None  # the resolution's time (None: the customer never replied)
    solved: datetime
    waiting: datetime | None  # from then on the ticket waits on engineering


def _converse(
    rng: np.random.Generator, business: Business, issue: Issue, kind: Kind, words: Words,
    lang: str, thread: _Thread, priority: str,
) -> _Outcome:  # fmt: skip
    """The agent's answers and the customer's replies, up to the solve."""
    first = work_after(issue.at, _response(rng, kind.queue, priority))
    answers = _answers(kind, issue)
    cancelled = issue.facts.get("cancelled_at")
    if cancelled and datetime.fromisoformat(cancelled) < first:
        answers = CANCELLED_ANSWERS
    resolution = _pick(rng, answers)
    mood, waiting = kind.mood, None
    done = first
    spike = spike_of(business) if issue.spike else None
    if spike is not None and first < spike.fix:
        thread.answers(agent_message(rng, _pick(rng, kind.answers), words, mood, lang,
                                     first=True, final=False), first)  # fmt: skip
        waiting = first
        done = work_after(max(first, spike.fix), float(rng.lognormal(math.log(40), 0.8)))
    elif kind.clarify and rng.random() < kind.clarify_share:
        thread.answers(agent_message(rng, _pick(rng, kind.clarify), words, mood, lang,
                                     first=True, final=False), first)  # fmt: skip
        if rng.random() >= 0.88:
            return _Outcome(None, first + NO_REPLY_SOLVE, None)
        replied = first + _customer_delay(rng)
        thread.says(_fill(_pick(rng, kind.follow), words.customer), replied)
        done = work_after(replied, _response(rng, kind.queue, priority, 0.6))
        if kind.label == "bug" and rng.random() < 0.45:
            done = _escalate(rng, thread, words, done)
            waiting = replied
    elif kind.label == "bug" and rng.random() < 0.3:
        thread.answers(agent_message(rng, _pick(rng, ESCALATION_ACKS), words, mood, lang,
                                     first=True, final=False), first)  # fmt: skip
        done = _escalate(rng, thread, words, first)
        waiting = first
    thread.answers(agent_message(rng, resolution, words, mood, lang, first=done == first),
                   done)  # fmt: skip
    solved = done
    if rng.random() < THANKS_SHARE:
        thanked = done + _customer_delay(rng)
        foreign = LANGUAGES.get(lang)
        thread.says(_fill(_pick(rng, foreign.thanks if foreign else THANKS), words.customer),
                    thanked)  # fmt: skip
        solved = work_after(thanked, float(rng.uniform(5, 60)))
    elif rng.random() < PENDING_SHARE:  # left pending for the customer to confirm
        solved = done + PENDING_SOLVE
    return _Outcome(done, solved, waiting)


def _escalate(rng: np.random.Generator, thread: _Thread, words: Words, at: datetime) -> datetime:
    """An internal note for engineering; the fix comes hours to days of work later."""
    thread.answers(_fill(_pick(rng, ESCALATION_NOTES), words.agent), at + 2 * MINUTE,
                   public=False)  # fmt: skip
    return work_after(at + 3 * MINUTE, float(rng.uniform(240, 2400)))


def _rating(rng: np.random.Generator, slow: bool, reopened: bool, leaving: bool) -> int:
    weights = [0.02, 0.03, 0.08, 0.3, 0.57]
    if slow:
        weights = [0.06, 0.1, 0.2, 0.34, 0.3]
    if reopened:
        weights = [0.15, 0.2, 0.25, 0.25, 0.15]
    rating = 1 + int(rng.choice(5, p=weights))
    return max(1, rating - 1) if leaving and rng.random() < 0.3 else rating


def _requester(rng: np.random.Generator, person: SimPerson) -> tuple[str, str, str]:
    """(channel, e-mail, user id): the web widget and chat know the user; a few e-mails
    come from an address nobody registered."""
    u = float(rng.random())
    if u < UNLINKED_SHARE:
        local = re.sub(r"[^a-z]+", ".", person.name.lower()).strip(".")
        return "email", f"{local}.{int(rng.integers(10, 99))}@webmail.example", ""
    if u < 0.55:
        return "email", person.email, ""
    return ("web" if u < 0.85 else "chat"), person.email, person.distinct_id


def _story(
    rng: np.random.Generator, business: Business, person: SimPerson, profile: Profile,
    issue: Issue, number: int,
) -> TicketStory:  # fmt: skip
    kind = KINDS[issue.kind]
    lang = _language(profile, issue)
    words = _slots(rng, person, issue, lang)
    agent = _agent(rng, kind.queue)
    for slots in (words.customer, words.agent):
        slots |= {"agent_first": agent.first, "agent_name": agent.name}
    body = customer_message(rng, kind, issue, words, lang, person.company)
    subject = subject_line(rng, kind, issue, words, lang, body)
    channel, email, user_id = _requester(rng, person)
    priority = "urgent" if issue.spike and rng.random() < 0.3 else kind.priority
    external_id = f"{person.distinct_id}-{number}"
    thread = _Thread(email, agent, external_id)
    outcome = _converse(rng, business, issue, kind, words, lang, thread, priority)
    end = business.end
    kept = tuple(
        replace(m, external_id=f"{external_id}-{k}")
        for k, m in enumerate(thread.messages, start=1)
        if m.at and m.at <= end
    )
    replies = [m.at for m in kept if m.author_kind == "agent" and m.public and m.at]
    solved = outcome.solved if outcome.solved <= end else None
    status = "solved" if solved else ""
    if not solved and outcome.waiting is not None and outcome.waiting <= end:
        status = "open"  # waiting on engineering
    later, again, closed, reopened = _reopen(rng, kind, words, thread, solved, end)
    rating, comment = None, ""
    if solved is not None and rng.random() < CSAT_SHARE:
        slow = solved - issue.at > 2 * DAY or (
            replies[0] - issue.at > 8 * HOUR if replies else True
        )
        rating = _rating(rng, slow, reopened, kind.label.startswith("cancel"))
        if rng.random() < 0.4:
            comment = _fill(_pick(rng, CSAT_COMMENTS["good" if rating >= 4 else "bad"]),
                            words.agent)  # fmt: skip
    label = kind.label if replies else ""
    intent = label if label in ROUTINE_INTENTS else ""
    ticket = NewTicket(
        subject=subject, body=body, requester_email=email, requester_name=person.name,
        requester_user_id=user_id, channel=channel, source=SOURCE,
        external_id=external_id, created_at=issue.at, status=status,
        priority=priority if label else "", category=category_of(label) if label else "",
        feature=issue.feature if label and kind.label in FEATURE_KINDS else "",
        assignee=agent.email if label else "", queue=kind.queue if label else "",
        tags=(*TAGS.get(issue.kind, ()), *([issue.feature] if issue.kind in ("bug", "how_to",
              "feature_request") else ())) if label else (),
        csat_rating=rating, csat_comment=comment, messages=kept, solved_at=solved,
    )  # fmt: skip
    return TicketStory(ticket, agent.email, intent, replies[0] if intent else None, later,
                       again, closed)  # fmt: skip


FEATURE_KINDS = ("bug", "how_to", "feature_request")


def _reopen(
    rng: np.random.Generator, kind: Kind, words: Words, thread: _Thread,
    solved: datetime | None, end: datetime,
) -> tuple[tuple[NewMessage, ...], datetime | None, datetime | None, bool]:  # fmt: skip
    """A few solved tickets come back before they close: (the later messages, solved
    again, closed, reopened)."""
    if solved is None:
        return (), None, None, False
    if solved + 3 * DAY < end and rng.random() < REOPEN_SHARE:
        back = solved + _uniform(rng, 3 * HOUR, 3 * DAY)
        answered = work_after(back, _response(rng, kind.queue, "high"))
        answer = _pick(rng, REOPEN_ANSWERS.get(category_of(kind.label), REOPEN_DEFAULT))
        later = (
            NewMessage(_pick(rng, REOPEN_ASKS), "customer", thread.customer, back),
            NewMessage(agent_message(rng, answer, words, "upset", "en", first=False), "agent",
                       thread.agent.email, answered),
        )  # fmt: skip
        kept = tuple(replace(m, external_id=f"{thread.prefix}-re{k}")
                     for k, m in enumerate(later, start=1) if m.at and m.at <= end)  # fmt: skip
        again = answered if answered <= end else None
        closed = again + CLOSE_AFTER if again and again + CLOSE_AFTER <= end else None
        return kept, again, closed, True
    closed = solved + CLOSE_AFTER if solved + CLOSE_AFTER <= end else None
    return (), None, closed, False


def person_tickets(business: Business, person: SimPerson) -> list[TicketStory]:
    """The person's tickets over the period, in the order they were opened."""
    profile = profile_of(business, person)
    issues = person_issues(business, person, profile)
    rng = _rng(business, person, _STORY)
    return [_story(rng, business, person, profile, issue, number)
            for number, issue in enumerate(issues, start=1)]  # fmt: skip


# --- errors before bug reports ------------------------------------------------------------

_PATHS = {feature.name: feature.pathname for feature in catalog.FEATURES}


def person_errors(business: Business, person: SimPerson) -> list[CaptureEvent]:
    """The ``$exception`` events (PostHog's shape) the person hits in the days before
    each bug report: one to a handful, the last minutes before they write."""
    bugs = bug_issues(business, person, profile_of(business, person))
    if not bugs:
        return []
    rng = np.random.default_rng([business.seed, ERROR_STREAM, person.index])
    device = device_properties(person.browser, person.os, person.device, person.country)
    spike = spike_of(business)
    events: list[CaptureEvent] = []
    for issue in bugs:
        kind, message = SPIKE_ERROR if issue.spike else BUG_ERRORS[issue.feature]
        path = _PATHS[issue.feature]
        last = issue.at - _uniform(rng, 2 * MINUTE, HOUR)
        earliest = max(issue.at - 3 * DAY, spike.release if issue.spike and spike else
                       business.start, business.start)  # fmt: skip
        count = 1 + int(rng.poisson(2.0))
        times = [last] + [earliest + (last - earliest) * float(u) for u in rng.random(count - 1)]
        ids = uuid4_texts(rng.bytes(32 * count))
        for k, at in enumerate(sorted(times)):
            if not business.start <= at <= business.end:
                continue
            props: dict[str, Any] = {
                **device, "$current_url": catalog.APP_URL + path, "$pathname": path,
                "plan": person.plan_at(at), "$exception_type": kind,
                "$exception_message": message, "$exception_level": "error",
                "$exception_list": [{"type": kind, "value": message,
                                     "mechanism": {"type": "onerror", "handled": False}}],
            }  # fmt: skip
            events.append(CaptureEvent(event="$exception", distinct_id=person.distinct_id,
                                       timestamp=at, properties=props, uuid=ids[2 * k],
                                       session_id=ids[2 * k + 1]))  # fmt: skip
    return sorted(events, key=lambda e: e.timestamp)
