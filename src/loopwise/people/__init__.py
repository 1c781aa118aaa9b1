"""User 360: one page per person (identity, billing, activity, tickets, health, insights,
timeline, quick actions), search over everyone, filters and bulk actions, health scores
recomputed daily, and customer accounts.

The area owns only what it derives or what its users add: a summary row per person (the
read model that search, filters and health read), health history, notes and actions,
filter presets and settings. Everything else comes through the other areas' facades.
"""
