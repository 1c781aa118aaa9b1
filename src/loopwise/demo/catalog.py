"""The simulated product, Recipely: plans, features, acquisition channels, markets.

Recipely is a subscription web app for food businesses and home cooks: a recipe book with
costing, menu planning, nutrition labels and stock counts. Free suits home cooks, Pro a
single chef or blogger, Team a kitchen with several people.

Everything here is static data that shapes the simulation; the numbers are chosen so that
the analytics screens show recognisable patterns (features adopted at different speeds and
by different plans, channels of different quality, office-hours usage).
"""

from __future__ import annotations

from dataclasses import dataclass

PRODUCT = "Recipely"
SITE_URL = "https://recipely.app"
APP_URL = "https://app.recipely.app"

PLANS: tuple[str, ...] = ("free", "pro", "team")
# Monthly price in USD; ``plan_changed`` events carry the MRR change.
PRICES: dict[str, int] = {"free": 0, "pro": 19, "team": 79}


@dataclass(frozen=True)
class Feature:
    """A named product feature and how people take it up.

    ``adoption`` is the chance that a person on free/pro/team ever starts using it (0 means
    the plan does not include it), ``days_to_adopt`` the mean delay once it is available and
    ``intensity`` its share of a user's actions once adopted. ``option`` names a property
    its usage events carry and the values it takes.
    """

    name: str
    events: tuple[str, ...]  # a name listed twice is drawn twice as often
    pathname: str
    adoption: tuple[float, float, float]
    days_to_adopt: float
    intensity: float
    option: tuple[str, tuple[str, ...]] | None = None


FEATURES: tuple[Feature, ...] = (
    Feature(
        "recipe_editor", ("recipe_created", "recipe_edited", "recipe_edited"),
        "/recipes/edit", (0.96, 0.98, 0.99), 0.2, 5.0,
        ("category", ("main", "dessert", "starter", "side", "sauce", "bread", "drink")),
    ),
    Feature(
        "recipe_import", ("recipe_imported",), "/recipes/import", (0.55, 0.7, 0.75), 2.0, 1.4,
        ("source", ("url", "url", "pdf", "photo", "spreadsheet")),
    ),
    Feature("recipe_scaling", ("recipe_scaled",), "/recipes/scale", (0.4, 0.6, 0.7), 8.0, 1.2),
    Feature(
        "shopping_list", ("shopping_list_created", "shopping_list_shared"), "/shopping",
        (0.45, 0.45, 0.5), 6.0, 1.1,
    ),
    Feature(
        "meal_planner", ("menu_planned",), "/planner", (0.25, 0.5, 0.65), 16.0, 1.6,
        ("period", ("week", "week", "day", "event")),
    ),
    Feature("cost_calculator", ("recipe_costed",), "/costing", (0.0, 0.85, 0.9), 3.0, 2.0),
    Feature(
        "nutrition_labels", ("nutrition_label_generated",), "/nutrition",
        (0.0, 0.2, 0.35), 28.0, 0.7,
        ("format", ("eu", "us_fda", "uk")),
    ),
    Feature(
        "inventory", ("inventory_counted", "stock_adjusted"), "/inventory",
        (0.0, 0.08, 0.55), 20.0, 1.3,
    ),
    Feature(
        "team_sharing", ("recipe_shared", "teammate_invited", "comment_added"), "/team",
        (0.0, 0.0, 0.92), 1.0, 1.2,
    ),
    Feature(
        "menu_export", ("menu_exported",), "/menus/export", (0.06, 0.25, 0.35), 35.0, 0.4,
        ("format", ("pdf", "pdf", "png", "print")),
    ),
)  # fmt: skip

# Pages of the app that people look at between actions (pathname, weight).
APP_PAGES: tuple[tuple[str, float], ...] = (
    ("/", 3.0), ("/recipes", 4.0), ("/recipes/view", 3.0), ("/planner", 1.0),
    ("/shopping", 0.8), ("/settings", 0.3), ("/help", 0.2),
)  # fmt: skip

ONBOARDING_STEPS: tuple[str, ...] = (
    "kitchen_profile", "first_recipe", "import_recipes", "invite_team", "plan_first_menu",
)  # fmt: skip
# Chance of completing each step given the previous one was completed.
ONBOARDING_CONTINUE: tuple[float, ...] = (0.88, 0.72, 0.62, 0.55, 0.6)

CANCEL_REASONS: tuple[str, ...] = (
    "too_expensive", "not_using_enough", "missing_feature", "switched_tool", "business_closed",
)  # fmt: skip


@dataclass(frozen=True)
class Channel:
    """Where people come from, as the landing-page URL and referrer show it.

    ``conversion`` is the share of landing visitors who sign up (the rest leave anonymous
    visits behind), ``paid`` scales the chance of choosing or moving to a paid plan and
    ``churn`` scales the churn rate: paid social brings many cheap, short-lived sign-ups.
    """

    name: str
    share: float
    utm_source: str = ""
    utm_medium: str = ""
    campaigns: tuple[str, ...] = ()
    referrers: tuple[str, ...] = ("",)
    landing: tuple[str, ...] = ("/",)
    conversion: float = 0.2
    paid: float = 1.0
    churn: float = 1.0


CHANNELS: tuple[Channel, ...] = (
    Channel(
        "google_cpc", 0.2, "google", "cpc",
        ("recipe-costing-software", "menu-planner-app", "brand-recipely"),
        ("https://www.google.com/",), ("/costing", "/", "/pricing"), 0.14, 1.15, 1.05,
    ),
    Channel(
        "facebook_paid_social", 0.15, "facebook", "paid_social",
        ("chef-lookalike", "cafe-owners-retargeting", "home-cooks-video"),
        ("https://m.facebook.com/", "https://l.instagram.com/"),
        ("/", "/meal-planning"), 0.09, 0.7, 1.6,
    ),
    Channel(
        "newsletter_email", 0.08, "newsletter", "email",
        ("weekly-digest", "nutrition-labels-launch", "winter-menus"),
        ("",), ("/blog/food-cost-formula", "/nutrition-labels"), 0.3, 1.2, 0.8,
    ),
    Channel(
        "producthunt_referral", 0.07, "producthunt", "referral", ("launch-day",),
        ("https://www.producthunt.com/",), ("/",), 0.22, 0.9, 1.4,
    ),
    Channel(
        "organic_search", 0.27,
        referrers=("https://www.google.com/", "https://www.google.com/",
                   "https://www.bing.com/", "https://duckduckgo.com/"),
        landing=("/blog/food-cost-formula", "/blog/menu-engineering", "/", "/recipes-costing"),
        conversion=0.12, paid=1.1, churn=0.85,
    ),
    Channel("direct", 0.23, landing=("/", "/pricing"), conversion=0.35, paid=1.05, churn=0.9),
)  # fmt: skip


@dataclass(frozen=True)
class Segment:
    """A kind of customer: how common, whether it is one person, how likely to pay, sizes."""

    name: str
    share: float
    personal: bool
    paid_share: float
    sizes: tuple[tuple[str, float], ...]


SEGMENTS: tuple[Segment, ...] = (
    Segment("home_cook", 0.24, True, 0.1, (("1", 1.0),)),
    Segment("food_blogger", 0.1, True, 0.3, (("1", 1.0),)),
    Segment("cafe", 0.18, False, 0.35, (("2-10", 0.8), ("11-50", 0.2))),
    Segment("restaurant", 0.22, False, 0.45, (("2-10", 0.4), ("11-50", 0.5), ("51-200", 0.1))),
    Segment("bakery", 0.09, False, 0.35, (("2-10", 0.85), ("11-50", 0.15))),
    Segment("catering", 0.1, False, 0.55, (("11-50", 0.6), ("51-200", 0.3), ("201-1000", 0.1))),
    Segment("meal_prep", 0.07, False, 0.5, (("2-10", 0.5), ("11-50", 0.5))),
)
# Among paying sign-ups, the chance of starting on Team rather than Pro, by company size.
TEAM_SHARE: dict[str, float] = {
    "1": 0.02, "2-10": 0.2, "11-50": 0.4, "51-200": 0.6, "201-1000": 0.75,
}  # fmt: skip

# Markets: (country code, time zone, UTC offset in minutes, share). Offsets ignore DST.
COUNTRIES: tuple[tuple[str, str, int, float], ...] = (
    ("US", "America/New_York", -300, 0.17),
    ("US", "America/Chicago", -360, 0.08),
    ("US", "America/Los_Angeles", -480, 0.09),
    ("CA", "America/Toronto", -300, 0.05),
    ("BR", "America/Sao_Paulo", -180, 0.04),
    ("GB", "Europe/London", 0, 0.13),
    ("IE", "Europe/Dublin", 0, 0.02),
    ("FR", "Europe/Paris", 60, 0.07),
    ("DE", "Europe/Berlin", 60, 0.08),
    ("ES", "Europe/Madrid", 60, 0.05),
    ("NL", "Europe/Amsterdam", 60, 0.04),
    ("IT", "Europe/Rome", 60, 0.04),
    ("IN", "Asia/Kolkata", 330, 0.05),
    ("JP", "Asia/Tokyo", 540, 0.03),
    ("AU", "Australia/Sydney", 600, 0.06),
)

DEVICES: tuple[tuple[str, str, str, float], ...] = (
    ("Chrome", "Windows", "Desktop", 0.3),
    ("Chrome", "Mac OS X", "Desktop", 0.16),
    ("Safari", "Mac OS X", "Desktop", 0.12),
    ("Edge", "Windows", "Desktop", 0.07),
    ("Firefox", "Windows", "Desktop", 0.04),
    ("Mobile Safari", "iOS", "Mobile", 0.15),
    ("Chrome", "Android", "Mobile", 0.1),
    ("Mobile Safari", "iOS", "Tablet", 0.06),
)

# Local hour-of-day weights: kitchens plan in the morning and mid-afternoon lull; home
# cooks in the evening.
HOURS_BUSINESS: tuple[float, ...] = (
    0.1, 0.05, 0.05, 0.05, 0.1, 0.4, 1.2, 2.5, 4.0, 5.0, 5.0, 3.5,
    2.0, 2.5, 4.0, 4.5, 3.5, 2.0, 1.2, 1.0, 0.8, 0.6, 0.4, 0.2,
)  # fmt: skip
HOURS_PERSONAL: tuple[float, ...] = (
    0.2, 0.1, 0.05, 0.05, 0.05, 0.1, 0.4, 1.0, 1.5, 1.5, 1.6, 2.2,
    2.4, 1.6, 1.3, 1.5, 2.2, 3.4, 4.0, 3.6, 3.0, 2.2, 1.2, 0.5,
)  # fmt: skip
# Activity on a Saturday or Sunday relative to a weekday.
WEEKEND_BUSINESS = 0.4
WEEKEND_PERSONAL = 1.05
