"""The materialized documents people read: prescriptions, workout and nutrition plans, reports.

These are the contracts between the asset graph (which writes them) and the API (which serves
them), so they live in the shared kernel. Plans are versioned and never overwritten: the latest
is a query on ``created_at``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_serializer, model_validator

from fitness_core.schemas import ActivityType, MealType

Intensity = Literal["rest", "light", "moderate", "vigorous"]
PlanType = Literal["workout", "nutrition"]
PlanSource = Literal["llm", "rules"]
Priority = Literal["high", "medium", "low"]
PlanOutcome = Literal["first_try", "repaired", "fallback", "not_asked"]
ShortText = Annotated[str, Field(max_length=400)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Prescription(_Strict):
    """Next week's training dose for one user: what the policy (or a baseline) decided."""

    user_id: str
    week: date = Field(description="the Monday of the prescribed week")
    target_hrr: float = Field(ge=0.30, le=0.90, description="session intensity as a fraction of HR reserve")
    weekly_minutes: float = Field(ge=0, le=900, description="planned training minutes for the week")
    sessions: int = Field(ge=0, le=7)
    source: str = Field(description="policy version or baseline name that produced it")
    baseline: dict[str, float] | None = Field(
        default=None, description="the baseline's targets, for comparison"
    )


class PrescriptionProvenance(_Strict):
    code_version: str
    policy_version: str = Field(description="the policy version or baseline name that prescribed")
    inputs_hash: str = Field(description="hash of the inputs; unchanged inputs are not rewritten")


class PrescriptionDocument(Prescription):
    """A stored prescription (collection ``weekly_prescriptions``, ``_id`` = ``{week}:{user_id}``): the
    dose (the :class:`Prescription` fields, stored flat) and how the policy chose it.

    Planning reads :attr:`dose`; the policy reads the plan position (``action``, ``block_week``)
    when it prescribes the following week.
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    id: str = Field(alias="_id")
    partition: str = Field(description="the week whose context prescribed it (the week before ``week``)")
    policy_version: str | None = Field(description="the PPO policy version; None when a baseline prescribed")
    baseline_policy: str = Field(description="key (B0-B4) of the baseline shown beside the dose")
    baseline_name: str
    fallback: str | None = Field(description="why no PPO policy prescribed")
    session_minutes: float
    action: list[float] = Field(description="the policy's action, the next week's previous action")
    block_week: int = Field(ge=0, description="position in the 16-week block")
    entered_program: bool = Field(description="no prescription was followed the week before")
    created_at: AwareDatetime | datetime
    provenance: PrescriptionProvenance

    @field_serializer("week")
    def _week_text(self, week: date) -> str:
        return week.isoformat()  # stored as text, like every other ``week``

    @property
    def dose(self) -> Prescription:
        """The dose alone, as planning uses it."""
        return Prescription(**{name: getattr(self, name) for name in Prescription.model_fields})

    def to_document(self) -> dict[str, Any]:
        """The MongoDB document (``_id`` first, ``created_at`` a date)."""
        body = self.model_dump(by_alias=True)
        return {"_id": body.pop("_id"), **body}


class HeartRateZone(_Strict):
    name: str = Field(max_length=40)
    low_bpm: int = Field(ge=40, le=230)
    high_bpm: int = Field(ge=40, le=230)


class WorkoutSession(_Strict):
    activity_type: ActivityType
    title: str = Field(max_length=80)
    duration_min: float = Field(gt=0, le=300)
    intensity: Intensity
    target_hr_low_bpm: int | None = Field(default=None, ge=40, le=230)
    target_hr_high_bpm: int | None = Field(default=None, ge=40, le=230)
    rpe_target: int | None = Field(default=None, ge=1, le=10)
    description: ShortText = ""


class WorkoutDay(_Strict):
    date: date
    rest: bool = False
    sessions: list[WorkoutSession] = Field(default_factory=list, max_length=3)

    @model_validator(mode="after")
    def _rest_has_no_hard_sessions(self) -> WorkoutDay:
        if self.rest and any(s.intensity in ("moderate", "vigorous") for s in self.sessions):
            raise ValueError(f"{self.date} is a rest day but has a moderate or vigorous session")
        return self


class WorkoutPlan(_Strict):
    """Seven consecutive days of sessions, with the heart-rate zones they refer to."""

    week: date
    hr_max_bpm: int = Field(ge=120, le=230)
    hr_max_method: str = Field(max_length=40, description="e.g. 'measured' or 'Tanaka 208 - 0.7 x age'")
    hr_rest_bpm: int = Field(ge=30, le=110)
    zones: list[HeartRateZone] = Field(min_length=1, max_length=6)
    days: list[WorkoutDay] = Field(min_length=7, max_length=7)
    summary: ShortText = ""
    safety_notes: list[ShortText] = Field(default_factory=list, max_length=10)

    @property
    def total_minutes(self) -> float:
        return sum(s.duration_min for d in self.days for s in d.sessions)


class Meal(_Strict):
    meal_type: MealType
    name: str = Field(max_length=80)
    ingredients: list[Annotated[str, Field(max_length=60)]] = Field(default_factory=list, max_length=20)
    calories: float = Field(ge=0, le=4000)
    protein_g: float = Field(ge=0, le=400)
    carbs_g: float = Field(ge=0, le=800)
    fat_g: float = Field(ge=0, le=400)


class NutritionDay(_Strict):
    date: date
    meals: list[Meal] = Field(min_length=1, max_length=8)

    @property
    def calories(self) -> float:
        return sum(m.calories for m in self.meals)

    @property
    def protein_g(self) -> float:
        return sum(m.protein_g for m in self.meals)


class NutritionPlan(_Strict):
    """Three consecutive days of meals around an energy and protein target."""

    start: date
    calories_target: float = Field(ge=800, le=6000)
    protein_g_range: tuple[float, float]
    diet_preference: str
    excluded: list[str] = Field(default_factory=list, description="allergens and foods left out")
    days: list[NutritionDay] = Field(min_length=3, max_length=3)
    summary: ShortText = ""


class GuardrailResult(_Strict):
    passed: bool
    violations: list[str] = Field(default_factory=list)
    checked: list[str] = Field(default_factory=list, description="names of the rules applied")
    failed_rules: list[str] = Field(default_factory=list, description="names of the rules with violations")


class LLMUsage(_Strict):
    model: str | None = None
    attempts: int = 0
    latency_s: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    failure_reasons: list[str] = Field(default_factory=list)
    outcome: PlanOutcome | None = Field(
        default=None,
        description="first_try, repaired (second answer passed), fallback (rules after model "
        "attempts) or not_asked (rules: no model, medical flag)",
    )
    failed_rules: list[list[str]] = Field(
        default_factory=list,
        description="per failed model answer, the rules it broke ('json', 'schema' when unparsed)",
    )


class PlanDocument(_Strict):
    """A stored plan (collection ``plans``): versioned, with provenance and guardrail results."""

    id: str = Field(alias="_id")
    user_id: str
    week: str
    plan_type: PlanType
    version: int = Field(ge=1)
    source: PlanSource
    plan: WorkoutPlan | NutritionPlan
    guardrails: GuardrailResult
    usage: LLMUsage = Field(default_factory=LLMUsage)
    prompt_hash: str | None = None
    inputs_hash: str
    policy_version: str | None = None
    code_version: str
    created_at: AwareDatetime | datetime

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Recommendation(_Strict):
    rule: str
    priority: Priority
    message: ShortText
    value: float | None = None
    threshold: float | None = None


class ReportDocument(_Strict):
    """A stored weekly report (collection ``reports``); the HTML lives in the artifact store."""

    id: str = Field(alias="_id")
    user_id: str
    week: str
    path: str = Field(description="path of the HTML file relative to the artifact store")
    status: ShortText = Field(description="one-line summary shown on the week's index page")
    recommendations: list[Recommendation] = Field(default_factory=list)
    inputs_hash: str
    code_version: str
    created_at: AwareDatetime | datetime

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
