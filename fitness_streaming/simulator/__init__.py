"""Physiological simulator of a wearable-using population (docs/physiology.md).

A population with per-user physiology, profile and program is simulated day by day with the
variable dose-response fitness-fatigue model of :mod:`fitness_core.physiology`, and emitted as the
platform's stream records: users and devices first, then each local day's walking bouts,
workouts, sleep, meals and check-ins. Deterministic for a seed; optional dirty-data knobs.
"""

from fitness_streaming.simulator.config import COHORT_SIZE, SimulationConfig
from fitness_streaming.simulator.engine import DayBatch, Simulation, iter_records, simulate

__all__ = ["COHORT_SIZE", "DayBatch", "Simulation", "SimulationConfig", "iter_records", "simulate"]
