"""The food catalogue (``foods.yaml``): what each ingredient is, which allergens it carries and which
diets it fits, and the screen that decides what a person may eat.

A word list misses what a dish hides (oats are a gluten cereal, hummus is sesame, soy sauce is wheat
and soy), so plans are checked food by food instead: every ingredient must resolve to catalogue
foods (plus descriptive words such as "toasted" or "2 tbsp"), each food carries its allergens (the 14
of Regulation (EU) No 1169/2011, Annex II, and a few others) and its animal group, and a person's
diet and allergies exclude groups and allergens. An ingredient the catalogue cannot classify cannot
be shown to be safe, so the guardrails refuse it. Meal names are scanned too (unknown words in a name
are allowed: "Coach's bowl").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from typing import Any

import yaml

CATALOGUE_FILE = "foods.yaml"
EU_ALLERGENS = (
    "gluten",
    "crustaceans",
    "eggs",
    "fish",
    "peanuts",
    "soybeans",
    "milk",
    "tree_nuts",
    "celery",
    "mustard",
    "sesame",
    "sulphites",
    "lupin",
    "molluscs",
)
_TOKEN = re.compile(r"[a-z0-9][a-z0-9'-]*")
_QUANTITY = re.compile(r"^\d+(?:[.,]\d+)?[a-z]{0,4}$")  # "2", "100g", "1.5kg", "250ml"


def tokens(text: str) -> tuple[str, ...]:
    """Lower-case words of ``text`` without quantities ("2 tbsp olive oil" -> ("tbsp", "olive", "oil"))."""
    words = _TOKEN.findall(text.lower().replace("’", "'"))
    return tuple(w.strip("'-") for w in words if not _QUANTITY.match(w) and w.strip("'-"))


def _variants(words: tuple[str, ...]) -> list[tuple[str, ...]]:
    """Plural and singular forms of the last word (the catalogue lists one of them)."""
    *head, last = words
    forms = [last + "s", last + "es"]
    if last.endswith("es") and len(last) > 4:
        forms.append(last[:-2])
    if last.endswith("s") and len(last) > 3:
        forms.append(last[:-1])
    return [(*head, f) for f in forms]


@dataclass(frozen=True)
class Food:
    """One catalogue entry."""

    name: str
    group: str  # plant, honey, dairy, egg, fish, shellfish, meat
    allergens: frozenset[str]
    words: frozenset[str]  # every word of its name and other names (for allergies named by food)


@dataclass(frozen=True)
class Match:
    """Catalogue food found in a text, with the words that named it."""

    text: str
    food: Food


class Catalogue:
    """The parsed ``foods.yaml``: foods by every name, modifiers, allergy words and diets."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.allergen_labels: dict[str, str] = dict(data["allergens"])
        self.allergy_words: dict[str, tuple[str, ...]] = {
            k: tuple(v) for k, v in data["allergy_words"].items()
        }
        self.diets: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in data["diets"].items()}
        self.modifiers = frozenset(str(m) for m in data["modifiers"])
        self.foods: dict[str, Food] = {}
        names: dict[tuple[str, ...], Food] = {}
        for name, (group, allergens, others) in data["foods"].items():
            unknown = set(allergens) - set(self.allergen_labels)
            if unknown:
                raise ValueError(f"{CATALOGUE_FILE}: {name!r} has unknown allergens {sorted(unknown)}")
            every = [name, *others]
            food = Food(
                name=name,
                group=group,
                allergens=frozenset(allergens),
                words=frozenset(w for n in every for w in tokens(n)),
            )
            self.foods[name] = food
            for other in every:
                key = tokens(other)
                if key in names and names[key] is not food:
                    raise ValueError(
                        f"{CATALOGUE_FILE}: {other!r} names both {names[key].name!r} and {name!r}"
                    )
                names[key] = food
        for key, food in list(names.items()):
            for variant in _variants(key):
                names.setdefault(variant, food)
        self.names = names
        self.longest = max(len(k) for k in names)
        missing = set(EU_ALLERGENS) - set(self.allergen_labels)
        if missing:
            raise ValueError(f"{CATALOGUE_FILE}: EU allergens missing: {sorted(missing)}")

    def scan(self, text: str) -> tuple[list[Match], list[str]]:
        """Foods named in ``text`` (longest names first, left to right) and the words left over."""
        words = tokens(text)
        found: list[Match] = []
        rest: list[str] = []
        i = 0
        while i < len(words):
            for size in range(min(self.longest, len(words) - i), 0, -1):
                food = self.names.get(words[i : i + size])
                if food is not None:
                    found.append(Match(" ".join(words[i : i + size]), food))
                    i += size
                    break
            else:
                rest.append(words[i])
                i += 1
        return found, rest

    def ingredient(self, text: str) -> tuple[list[Match], list[str]]:
        """Foods of one ingredient and the words that are neither food nor description (must be none)."""
        found, rest = self.scan(text)
        unknown = [w for w in rest if w not in self.modifiers]
        if not found and not unknown:
            unknown = [text.strip() or "(empty)"]
        return found, unknown


@cache
def catalogue() -> Catalogue:
    """The packaged catalogue (parsed once)."""
    text = resources.files("fitness_assets.planning").joinpath(CATALOGUE_FILE).read_text(encoding="utf-8")
    return Catalogue(yaml.safe_load(text))


@dataclass(frozen=True)
class Screen:
    """What one person must not eat: animal groups by diet, allergens by allergy."""

    diet: str
    groups: tuple[str, ...]
    allergens: tuple[tuple[str, frozenset[str]], ...]  # (allergy as written, catalogue allergens)
    words: tuple[tuple[str, frozenset[str]], ...]  # allergies named by food ("kiwi"): (allergy, word forms)

    def reasons(self, food: Food) -> list[str]:
        """Why ``food`` is excluded for this person (empty: allowed)."""
        why = [f"{food.group} (excluded by the {self.diet} diet)"] if food.group in self.groups else []
        for allergy, keys in self.allergens:
            hit = sorted(food.allergens & keys)
            if hit:
                why.append(f"allergen {allergy}")
        for allergy, forms in self.words:
            if food.words & forms or food.allergens & forms:
                why.append(f"allergen {allergy}")
        return why

    def hits(self, text: str) -> list[tuple[str, str]]:
        """(words naming the food, why) for every excluded food named in ``text``."""
        found, rest = catalogue().scan(text)
        out = [(m.text, why) for m in found for why in self.reasons(m.food)]
        for allergy, forms in self.words:  # an allergy named by a food the catalogue lacks
            out += [(w, f"allergen {allergy}") for w in rest if w in forms]
        return out

    def allows(self, texts: list[str]) -> bool:
        return not any(self.hits(t) for t in texts)


def _forms(word: str) -> frozenset[str]:
    key = tokens(word)
    if not key:
        return frozenset()
    return frozenset(" ".join(v) for v in [key, *_variants(key)])


@lru_cache(maxsize=512)
def screen(diet: str, allergies: tuple[str, ...]) -> Screen:
    """The person's screen; allergy words the catalogue knows map to its allergens, others to food names."""
    cat = catalogue()
    by_allergen, by_word = [], []
    for allergy in allergies:
        key = allergy.strip().lower()
        mapped = cat.allergy_words.get(key) or cat.allergy_words.get(key.replace("_", " "))
        if mapped:
            by_allergen.append((key, frozenset(mapped)))
        else:
            by_word.append((key, _forms(key)))
    return Screen(
        diet=diet, groups=cat.diets.get(diet, ()), allergens=tuple(by_allergen), words=tuple(by_word)
    )


def diet_excludes(diet: str) -> tuple[str, ...]:
    """The animal groups a diet leaves out (for the prompt)."""
    return catalogue().diets.get(diet, ())


def allowed_foods(diet: str, allergies: tuple[str, ...]) -> list[str]:
    """Catalogue foods this person may eat (the prompt lists them)."""
    s = screen(diet, allergies)
    return sorted(f.name for f in catalogue().foods.values() if not s.reasons(f))
