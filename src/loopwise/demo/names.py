"""Word lists for simulated people and their businesses.

Emails use reserved ``.example`` domains (RFC 2606) on purpose: Loopwise sends emails as
actions (win-back, dunning), and demo data must never reach a real mailbox.
"""

from __future__ import annotations

FIRST_NAMES: tuple[str, ...] = (
    "Ada", "Aisha", "Akira", "Alejandro", "Amara", "Amelia", "Ana", "Andrei", "Anika",
    "Arjun", "Beatriz", "Ben", "Carla", "Chen", "Chloe", "Dario", "David", "Diego", "Elena",
    "Emma", "Farah", "Felix", "Fatima", "Gabriel", "Grace", "Hana", "Hugo", "Ines", "Isaac",
    "Ivy", "Jack", "Jana", "Javier", "Jin", "Jonas", "Julia", "Kai", "Kenji", "Laila",
    "Lars", "Leo", "Lina", "Lucas", "Lucia", "Maya", "Mateo", "Mei", "Mia", "Nadia", "Noah",
    "Nora", "Olivia", "Omar", "Oscar", "Paula", "Priya", "Rafael", "Rosa", "Sam", "Sara",
    "Sofia", "Tariq", "Tom", "Valentina", "Yara", "Yusuf", "Zoe",
)  # fmt: skip

LAST_NAMES: tuple[str, ...] = (
    "Ahmed", "Alvarez", "Andersen", "Bauer", "Becker", "Brown", "Campbell", "Chen", "Costa",
    "Dubois", "Fischer", "Garcia", "Gomez", "Green", "Hansen", "Hoffmann", "Ito", "Jansen",
    "Johnson", "Kelly", "Khan", "Kim", "Kowalski", "Lambert", "Lopez", "Martin", "Meyer",
    "Moreau", "Murphy", "Nakamura", "Nguyen", "Novak", "O'Brien", "Patel", "Pereira",
    "Rossi", "Russo", "Santos", "Schmidt", "Silva", "Singh", "Smith", "Suzuki", "Tanaka",
    "Taylor", "Van Dijk", "Wagner", "Walsh", "Weber", "Williams", "Wilson", "Yamamoto",
)  # fmt: skip

COMPANY_FIRST: tuple[str, ...] = (
    "Golden", "Little", "Green", "Blue", "Rustic", "Urban", "Olive", "Copper", "Salt",
    "Saffron", "Wild", "Harbour", "Maple", "Fig", "Lemon", "Cedar", "Honey", "Ember",
    "Clover", "Juniper", "North", "Corner", "Old Town", "Riverside",
)  # fmt: skip

COMPANY_SECOND: tuple[str, ...] = (
    "Fork", "Spoon", "Table", "Oven", "Kettle", "Pantry", "Ladle", "Garden", "Hearth",
    "Mill", "Larder", "Skillet", "Basket", "Crust", "Grove", "Plate",
)  # fmt: skip

# Company name suffix by segment.
COMPANY_KIND: dict[str, tuple[str, ...]] = {
    "cafe": ("Cafe", "Coffee House", "Espresso Bar"),
    "restaurant": ("Bistro", "Kitchen", "Trattoria", "Brasserie", "Eatery"),
    "bakery": ("Bakery", "Bakehouse", "Patisserie"),
    "catering": ("Catering", "Events", "Catering Co."),
    "meal_prep": ("Meal Prep", "Fresh Meals", "Prep Kitchen"),
}

PERSONAL_DOMAINS: tuple[str, ...] = ("mail.example", "inbox.example", "post.example")
