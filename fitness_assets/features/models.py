"""The documents this package writes: ``weekly_features`` and ``user_contexts`` (one per user-week).

These models are the contract for the planners and the reports. Lists indexed by day always have
seven entries, Monday first (the user's local calendar). ``None`` means "no data", never zero.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from fitness_core.schemas import DietPreference, Goal, MedicalFlag, Sex

HrMaxMethod = Literal["measured", "Tanaka 208 - 0.7 x age", "population default"]
HrRestMethod = Literal["profile", "overnight median", "population default"]
SrpeScaleMethod = Literal["user regression", "population default"]
ActivityLevel = Literal["sedentary", "light", "moderate", "very"]

Daily = list[float]


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Provenance(_Doc):
    code_version: str
    inputs_hash: str = Field(description="hash of the inputs; unchanged inputs are not rewritten")


class Physiology(_Doc):
    """The per-user constants the week's HR features were computed with."""

    sex: Sex | None
    age: int | None
    weight_kg: float | None
    height_cm: float | None
    hr_max_bpm: float
    hr_max_method: HrMaxMethod
    hr_rest_bpm: float
    hr_rest_method: HrRestMethod
    bmr_kcal: float | None = Field(description="Mifflin-St Jeor, kcal/day (None without a profile)")


class Steps(_Doc):
    """Steps of the days with step records (walking bouts, workouts that counted steps).

    A day without step records is None, not 0; the totals are None when the week has none.
    """

    daily: list[int | None] = Field(min_length=7, max_length=7, description="None: no step records that day")
    total: int | None
    mean_per_day: float | None = Field(description="total / days with step records (None when none)")
    goal: int | None
    days_goal_met: int | None


class ActiveMinutes(_Doc):
    """Minutes by ACSM intensity, from each event's average HR as a fraction of HR reserve."""

    light: float = Field(description="< 40% HRR")
    moderate: float = Field(description="40-59% HRR")
    vigorous: float = Field(description=">= 60% HRR")
    unclassified: float = Field(description="events without heart rate")
    total: float
    moderate_equivalent: float = Field(description="moderate + 2 x vigorous (WHO)")


class TypeSummary(_Doc):
    count: int
    minutes: float


class Workouts(_Doc):
    count: int
    minutes: float
    days: int = Field(description="days with at least one workout")
    strength_days: int
    longest_min: float
    daily_longest_min: Daily = Field(min_length=7, max_length=7, description="longest workout of each day")
    by_type: dict[str, TypeSummary]
    avg_hr_bpm: float | None = Field(description="duration-weighted mean of workouts' average HR")
    max_hr_bpm: float | None


class TrainingLoad(_Doc):
    """TRIMP-equivalent daily load: Banister TRIMP per event, session-RPE x scale without HR."""

    daily: Daily = Field(min_length=7, max_length=7)
    total: float
    hr_trimp: float = Field(description="part of the total from Banister TRIMP")
    srpe_au: float = Field(description="session-RPE load (AU) of events without HR, before scaling")
    srpe_scale: float = Field(description="TRIMP per session-RPE AU used for those events")
    srpe_scale_method: SrpeScaleMethod
    monotony: float
    strain: float
    acute_daily_mean: float
    chronic_daily_mean: float = Field(description="mean daily load of the 3 previous weeks")
    acwr: float | None = Field(description="uncoupled acute:chronic ratio; None when chronic load is 0")


class StageShares(_Doc):
    light: float = Field(description="share of time asleep")
    deep: float
    rem: float
    awake: float = Field(description="share of the sleep period (asleep + awake)")


class Night(_Doc):
    date: str = Field(description="local wake-up date")
    onset_local: str = Field(description="local sleep onset, HH:MM")
    in_bed_min: float
    asleep_min: float = Field(description="sum of light, deep and REM; else in bed x efficiency; else in bed")
    efficiency: float | None
    quality: float | None
    awakenings: int | None
    latency_min: float | None
    resting_hr_bpm: float | None
    hrv_rmssd_ms: float | None
    stages: StageShares | None


class Sleep(_Doc):
    nights: list[Night]
    count: int
    mean_asleep_min: float | None
    mean_in_bed_min: float | None
    mean_efficiency: float | None
    mean_quality: float | None
    stage_shares: StageShares | None = Field(description="minutes-weighted over nights with stages")
    onset_sd_min: float | None = Field(description="consistency: SD of onset times (>= 2 nights)")
    short_nights: int | None = Field(description="nights with <= 6 h asleep (None without nights)")
    resting_hr_bpm: float | None = Field(description="mean overnight resting HR")
    hrv_rmssd_ms: float | None = Field(description="mean overnight HRV (RMSSD)")


class Energy(_Doc):
    daily_in: list[float | None] = Field(min_length=7, max_length=7, description="None: nothing logged")
    daily_active: Daily = Field(min_length=7, max_length=7, description="calories_burned of the day's events")
    daily_out: list[float | None] = Field(min_length=7, max_length=7, description="BMR + active")
    mean_in: float | None = Field(description="over days with intake logged")
    mean_out: float | None
    mean_balance: float | None = Field(description="mean of in - out over days with intake logged")


class Macros(_Doc):
    """Daily means over days with intake logged."""

    meals: int
    protein_g: float | None
    carbs_g: float | None
    fat_g: float | None
    protein_g_per_kg: float | None
    protein_share: float | None = Field(description="share of macro energy (4/4/9 kcal per g)")
    carbs_share: float | None
    fat_share: float | None


class CheckIn(_Doc):
    ts: AwareDatetime | datetime
    mood: int
    energy: int
    perceived_exertion: int
    soreness_level: int | None
    readiness: int | None


class FeedbackSummary(_Doc):
    count: int
    mood: float | None
    energy: float | None
    perceived_exertion: float | None
    soreness: float | None
    readiness: float | None
    latest: CheckIn | None


class Coverage(_Doc):
    """Days (0-7) with at least one record of each stream."""

    activity: int
    sleep: int
    nutrition: int
    feedback: int
    any: int


class WeeklyFeatures(_Doc):
    """One user's local week (collection ``weekly_features``, ``_id`` = ``{week}:{user_id}``)."""

    id: str = Field(alias="_id")
    week: str
    user_id: str
    timezone: str
    days: list[str] = Field(min_length=7, max_length=7)
    physiology: Physiology
    steps: Steps
    active_minutes: ActiveMinutes
    workouts: Workouts
    hr_zone_min: Annotated[list[float], Field(min_length=5, max_length=5)] | None = Field(
        description="zones 1-5 (%HRmax 50/60/70/80/90); None when no event of the week carried heart rate"
    )
    load: TrainingLoad
    sleep: Sleep
    energy: Energy
    macros: Macros
    feedback: FeedbackSummary
    coverage: Coverage
    created_at: AwareDatetime | datetime
    provenance: Provenance


class Profile(_Doc):
    """What planning may know about the person (no name, email or free text)."""

    age: int | None
    sex: Sex | None
    goal: Goal
    diet_preference: DietPreference
    allergies: list[str]
    medical_flags: list[MedicalFlag]
    weight_kg: float | None
    height_cm: float | None
    hr_max_bpm: float
    hr_max_method: HrMaxMethod
    hr_rest_bpm: float
    hr_rest_method: HrRestMethod
    steps_goal: int
    timezone: str
    bmr_kcal: float | None
    activity_level: ActivityLevel = Field(description="from workout days of the week (1.2-1.725 factor)")
    tdee_kcal: float | None


class CompactWeek(_Doc):
    """Headline numbers of one week, for the context's recent history."""

    week: str
    steps_per_day: float | None
    moderate_equivalent_min: float
    workouts: int
    workout_minutes: float
    training_load: float
    acwr: float | None
    monotony: float
    sleep_hours: float | None
    sleep_efficiency: float | None
    resting_hr_bpm: float | None
    hrv_rmssd_ms: float | None
    kcal_in_per_day: float | None
    kcal_out_per_day: float | None
    protein_g_per_kg: float | None
    mood: float | None
    energy: float | None
    readiness: float | None
    soreness: float | None
    coverage_days: int
    activity_days: int | None = Field(
        default=None,
        description="days with activity data; at 0 the activity headlines are left out of trends",
    )


class Trend(_Doc):
    """One headline number against the previous week and the 4-week baseline before it."""

    current: float | None
    previous: float | None
    change: float | None
    change_pct: float | None
    baseline: float | None = Field(description="mean of the up to 4 weeks before this one")
    baseline_weeks: int
    vs_baseline: float | None
    vs_baseline_pct: float | None
    direction: Literal["up", "down", "flat", "unknown"]


class Flags(_Doc):
    """Signals the planners act on; ``reasons`` says which rule raised each one."""

    low_readiness: bool
    high_soreness: bool
    short_sleep: bool
    elevated_resting_hr: bool
    acwr_high: bool
    refer_to_clinician: bool
    reasons: list[str]


class UserContext(_Doc):
    """Everything the planners read for one user-week (collection ``user_contexts``)."""

    id: str = Field(alias="_id")
    week: str
    user_id: str
    profile: Profile
    recent_weeks: list[CompactWeek] = Field(max_length=4, description="oldest first, ends with this week")
    trends: dict[str, Trend]
    latest_feedback: CheckIn | None
    longest_session_30d_min: float = Field(description="longest workout in the 30 days up to the week's end")
    sleep_h_recent: float | None = Field(description="mean hours asleep per night this week")
    flags: Flags
    created_at: AwareDatetime | datetime
    provenance: Provenance
