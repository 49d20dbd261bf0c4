"""Food keyword groups: which words in a meal's name or ingredients break a diet or an allergy.

Matching is by whole word, case-insensitive, with plant-based stand-ins ("almond milk", "peanut
butter", "vegan cheese") not counted as dairy or egg. It is a screen, not a food database: it
catches the words a plan writer uses for the excluded foods.
"""

from __future__ import annotations

import re
from functools import lru_cache

FOOD_GROUPS: dict[str, tuple[str, ...]] = {
    "meat": (
        "beef", "pork", "chicken", "turkey", "lamb", "mutton", "veal", "duck", "goose", "venison", "bacon",
        "ham", "sausage", "sausages", "steak", "salami", "pepperoni", "prosciutto", "chorizo", "meat",
        "meatballs", "mince", "jerky", "gelatin", "gelatine", "bone broth", "liver",
    ),
    "fish": (
        "fish", "salmon", "tuna", "cod", "trout", "sardine", "sardines", "mackerel", "anchovy", "anchovies",
        "tilapia", "halibut", "haddock", "herring", "pollock", "sea bass", "fish sauce",
    ),
    "shellfish": (
        "shellfish", "shrimp", "shrimps", "prawn", "prawns", "crab", "lobster", "mussel", "mussels", "clam",
        "clams", "oyster", "oysters", "scallop", "scallops", "squid", "calamari", "octopus",
    ),
    "dairy": (
        "milk", "cheese", "yogurt", "yoghurt", "butter", "buttermilk", "cream", "whey", "casein", "ghee",
        "kefir", "feta", "mozzarella", "parmesan", "ricotta", "cheddar", "skyr", "quark", "paneer",
        "halloumi", "custard", "ice cream", "cottage cheese", "sour cream", "labneh",
    ),
    "egg": ("egg", "eggs", "omelette", "omelet", "frittata", "mayonnaise", "mayo", "meringue", "quiche"),
    "honey": ("honey",),
    "peanut": ("peanut", "peanuts"),
    "tree_nut": (
        "almond", "almonds", "walnut", "walnuts", "cashew", "cashews", "pecan", "pecans", "hazelnut",
        "hazelnuts", "pistachio", "pistachios", "macadamia", "brazil nut", "brazil nuts", "nut", "nuts",
        "praline", "marzipan",
    ),
    "gluten": (
        "wheat", "bread", "pasta", "couscous", "barley", "rye", "seitan", "flour", "tortilla", "tortillas",
        "bulgur", "spelt", "noodles", "bagel", "crackers", "pita", "toast", "sourdough", "muffin",
    ),
    "soy": ("soy", "soya", "tofu", "tempeh", "edamame", "miso"),
    "sesame": ("sesame", "tahini"),
}

DIET_EXCLUDES: dict[str, tuple[str, ...]] = {
    "omnivore": (),
    "pescatarian": ("meat",),
    "vegetarian": ("meat", "fish", "shellfish"),
    "vegan": ("meat", "fish", "shellfish", "dairy", "egg", "honey"),
}

# Allergy words people write, mapped to the group they stand for.
ALLERGY_GROUPS: dict[str, str] = {
    "peanut": "peanut", "peanuts": "peanut",
    "tree nut": "tree_nut", "tree nuts": "tree_nut", "tree_nut": "tree_nut", "tree_nuts": "tree_nut",
    "nut": "tree_nut", "nuts": "tree_nut",
    "milk": "dairy", "dairy": "dairy", "lactose": "dairy",
    "egg": "egg", "eggs": "egg",
    "wheat": "gluten", "gluten": "gluten",
    "soy": "soy", "soya": "soy",
    "fish": "fish", "shellfish": "shellfish", "crustacean": "shellfish", "crustaceans": "shellfish",
    "sesame": "sesame",
}

# "<plant> milk" and friends are not dairy or egg: they are rewritten before the dairy/egg screen.
_PLANT = r"(?:soy|soya|oat|almond|coconut|rice|cashew|vegan|plant|plant-based|peanut|nut|pea|hemp|dairy-free|egg-free|cocoa)"
_STAND_IN = re.compile(rf"\b({_PLANT})[\s-]+(milk|butter|cheese|yogurt|yoghurt|cream|mayonnaise|mayo)\b")


def _normalize(text: str) -> str:
    return _STAND_IN.sub(r"\1 plant\2", text.lower())


@lru_cache(maxsize=256)
def _pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    alternatives = "|".join(sorted((re.escape(w) for w in words), key=len, reverse=True))
    return re.compile(rf"\b(?:{alternatives})\b")


def allergy_words(allergy: str) -> tuple[str, ...]:
    """The words that reveal an allergen: its group's words, or the allergy word and its plural."""
    key = allergy.strip().lower()
    group = ALLERGY_GROUPS.get(key)
    if group is not None:
        return FOOD_GROUPS[group]
    singular = key[:-1] if key.endswith("s") and len(key) > 3 else key
    return tuple({key, singular, singular + "s", singular + "es"})


def excluded_words(diet: str, allergies: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """Why-label -> words, for the diet's excluded groups and each allergy."""
    rules = {f"{group} (excluded by the {diet} diet)": FOOD_GROUPS[group] for group in DIET_EXCLUDES.get(diet, ())}
    for allergy in allergies:
        rules[f"allergen {allergy}"] = allergy_words(allergy)
    return rules


def find_excluded(text: str, rules: dict[str, tuple[str, ...]]) -> list[tuple[str, str]]:
    """(word found, why) for every excluded word in ``text``."""
    normalized = _normalize(text)
    hits = []
    for why, words in rules.items():
        match = _pattern(words).search(normalized)
        if match:
            hits.append((match.group(0), why))
    return hits
