"""The food catalogue: every ingredient classified, hidden allergens found, templates always safe."""

from __future__ import annotations

import itertools
import re

import pytest

from fitness_assets.planning import rules
from fitness_assets.planning.foods import EU_ALLERGENS, allowed_foods, catalogue, screen
from fitness_assets.planning.guardrails import check_nutrition
from fitness_assets.planning.targets import nutrition_targets
from tests.support.planning_population import example_context

DIETS = ("omnivore", "pescatarian", "vegetarian", "vegan")


def allergens_of(text: str) -> set[str]:
    return {a for m in catalogue().scan(text)[0] for a in m.food.allergens}


def test_the_catalogue_covers_the_14_eu_allergens_and_every_template_ingredient():
    cat = catalogue()
    assert set(EU_ALLERGENS) <= set(cat.allergen_labels)
    assert set(EU_ALLERGENS) <= {a for f in cat.foods.values() for a in f.allergens}  # each one is used
    for meal_type, options in rules.MEALS.items():
        for name, ingredients in options:
            for ingredient in ingredients:
                found, unknown = cat.ingredient(ingredient)
                assert unknown == [] and len(found) == 1, (meal_type, name, ingredient)


@pytest.mark.parametrize(
    ("text", "allergens"),
    [
        ("rolled oats", {"gluten"}),
        ("Oat milk", {"gluten"}),
        ("gluten-free oats", set()),
        ("hummus", {"sesame"}),
        ("basil pesto", {"milk", "tree_nuts", "pine_nuts"}),
        ("2 tbsp soy sauce", {"soybeans", "gluten"}),
        ("teriyaki sauce", {"soybeans", "gluten"}),
        ("peanut butter", {"peanuts"}),
        ("almond milk", {"tree_nuts"}),
        ("coconut yogurt", set()),
        ("vegetable stock", {"celery"}),
        ("mayonnaise", {"eggs", "mustard"}),
        ("prawns", {"crustaceans"}),
        ("squid", {"molluscs"}),
        ("lupin flour", {"lupin"}),
        ("dried apricots", {"sulphites"}),
    ],
)
def test_hidden_allergens_are_found(text, allergens):
    assert allergens_of(text) == allergens


@pytest.mark.parametrize(
    "ingredient", ["mixed vegetables", "mystery sauce", "curry paste", "protein bar", ""]
)
def test_what_the_catalogue_cannot_classify_is_reported(ingredient):
    assert catalogue().ingredient(ingredient)[1] != []


@pytest.mark.parametrize(
    ("ingredient", "food"),
    [
        ("Toasted walnuts", "walnuts"),
        ("100g rolled oats", "rolled oats"),
        ("sliced kiwis", "kiwi fruit"),
        ("1 cup cooked brown rice", "brown rice"),
        ("Chicken breast, grilled", "chicken breast"),
    ],
)
def test_descriptions_and_quantities_do_not_hide_the_food(ingredient, food):
    found, unknown = catalogue().ingredient(ingredient)
    assert unknown == [] and [m.food.name for m in found] == [food]


@pytest.mark.parametrize(
    ("allergy", "food"),
    [
        ("gluten", "rolled oats"),
        ("wheat", "soy sauce"),
        ("sesame", "hummus"),
        ("milk", "pesto"),
        ("tree nuts", "pesto"),
        ("soy", "teriyaki sauce"),
        ("shellfish", "mussels"),
        ("kiwi", "kiwi fruit"),
        ("strawberry", "strawberries"),
    ],
)
def test_an_allergy_excludes_the_foods_that_carry_it(allergy, food):
    assert food not in allowed_foods("omnivore", (allergy,))
    assert screen("omnivore", (allergy,)).hits(food)


@pytest.mark.parametrize("diet", DIETS)
def test_the_rules_planner_never_serves_an_allergen_or_a_diet_breach(diet):
    """Every EU allergen (one at a time and in pairs), every diet: no excluded food, guardrails pass."""
    allergies = [
        (a,)
        for a in (
            "gluten",
            "crustacean",
            "egg",
            "fish",
            "peanut",
            "soy",
            "milk",
            "tree nuts",
            "celery",
            "mustard",
            "sesame",
            "sulphites",
            "lupin",
            "mollusc",
        )
    ]
    allergies += list(itertools.combinations(("gluten", "milk", "soy", "sesame", "tree nuts", "egg"), 2))
    for combo in allergies:
        ctx = example_context(diet_preference=diet, allergies=combo)
        t = nutrition_targets(ctx)
        plan = rules.nutrition_plan(ctx, t)
        person = screen(diet, t.allergies)
        for day in plan.days:
            for meal in day.meals:
                assert not person.hits(meal.name) and not any(person.hits(i) for i in meal.ingredients), (
                    combo,
                    meal,
                )
        assert check_nutrition(plan, t).passed, (combo, check_nutrition(plan, t).violations)


def test_the_audited_cases_no_oats_for_gluten_no_hummus_for_sesame():
    for allergy, banned in (("gluten", "oat"), ("sesame", "hummus")):
        ctx = example_context(allergies=(allergy,))
        plan = rules.nutrition_plan(ctx, nutrition_targets(ctx))
        text = " ".join(f"{m.name} {' '.join(m.ingredients)}".lower() for d in plan.days for m in d.meals)
        assert not re.search(rf"\b{banned}", text)


def test_the_prompt_lists_only_allowed_foods():
    allowed = allowed_foods("vegan", ("gluten",))
    assert "rolled oats" not in allowed and "greek yogurt" not in allowed and "honey" not in allowed
    assert "gluten-free oats" in allowed and "quinoa" in allowed
