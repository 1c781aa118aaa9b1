"""What the simulated people and agents write in support tickets: the kinds of ticket and
the phrasings of each part of a message (subjects, problems, details, moods, sign-offs, the
agents' answers), per feature and per language. Pure data for ``tickets.py``, which picks
and assembles the parts."""

from __future__ import annotations

from dataclasses import dataclass

DOMAIN = "recipely.example"  # the demo business's own domain (its agents' addresses)

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
            "Menu export fails",
            "PDF export of menu not working",
            "menu export error",
            "Can't export our menu to PDF",
            "Menu export failed!!",
            "Problem exporting the menu to PDF",
            "Is menu export down?",
        ),
        (
            "Menu export has stopped working since {weekday}: I click Export PDF and after a "
            "while it just says 'Export failed'.",
            "We can't export our weekly menu to PDF anymore: the menu export spins and then fails.",
            "menu export fails!! tried 5 times, always 'Export failed' when it generates the PDF",
            "Since the update this week the menu export to PDF fails for our {count}-dish menu.",
            "Menu export to PDF is broken? Export failed with: {error}",
            "Is menu export down? Nobody in our kitchen can export the menu to PDF, it fails.",
            "Exporting the menu to PDF fails every time since {weekday}. We print the menu "
            "export for the pass each day.",
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
