"""Apple Health importer: real sample exports, a generated export with overlapping devices, hostile XML."""

from __future__ import annotations

import io
import threading
import zipfile
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from fitness_core.schemas import Device, FitnessEvent, NutritionLog, SleepSession, User
from fitness_streaming.importers import apple, import_path
from fitness_streaming.importers.common import Entry, ImportContext, ReadProgress
from tests.fixtures.generated import PHONE, WATCH, AppleExportWriter

FIXTURES = Path(__file__).parent.parent / "fixtures" / "apple_health"
PDT = timezone(timedelta(hours=-7))
T0 = datetime(2024, 3, 4, 8, 0, tzinfo=timezone(timedelta(hours=1)))  # a Monday, 08:00 in Paris


def convert(data: bytes, tz: str = "Europe/Paris") -> tuple[list, ImportContext]:
    ctx = ImportContext("ada", tz)
    return list(apple.convert([Entry.from_bytes("export.xml", data)], ctx)), ctx


def export(build) -> bytes:
    out = io.StringIO()
    writer = AppleExportWriter(out, T0 + timedelta(days=30))
    build(writer)
    writer.close()
    return out.getvalue().encode()


def of(records: list, cls: type) -> list:
    return [r for r in records if isinstance(r, cls)]


# --- the real sample exports --------------------------------------------------------------


def test_sample_export_gives_the_watch_sleep_and_names_both_devices() -> None:
    records, ctx = convert((FIXTURES / "apple-health-parser_export.xml").read_bytes())
    (sleep,) = of(records, SleepSession)
    assert sleep.start_ts == datetime(2024, 1, 1, 3, 27, 53, tzinfo=timezone(timedelta(hours=2)))
    assert sleep.sleep_stage_breakdown.light == 12.5 and sleep.efficiency == 1.0
    assert sorted(d.kind for d in of(records, Device)) == ["phone", "watch"]
    assert ctx.skipped.counts["in-bed periods without any sleep recorded"] == 1
    assert ctx.skipped.counts["Apple AppleStandTime records (not stored by the platform)"] == 1
    assert ctx.skipped.counts["heart-rate samples outside workouts in hours without steps"] == 2


def test_sample_workout_keeps_apples_own_totals() -> None:
    records, ctx = convert((FIXTURES / "healthkit-to-sqlite_export.xml").read_bytes())
    (run,) = of(records, FitnessEvent)
    assert run.kind == "workout" and run.activity_type == "run"
    assert run.event_ts == datetime(2016, 11, 14, 7, 25, 41, tzinfo=PDT)
    assert run.duration_s == pytest.approx(5.19412346680959 * 60, abs=1e-3)
    assert run.distance_m == pytest.approx(0.4971749504535062 * 1609.344, abs=0.01)
    assert run.calories_burned == pytest.approx(48.7, abs=0.05)
    assert ctx.skipped.counts["Apple workout routes (GPS positions are not stored)"] == 1


def test_export_zip_is_read_as_a_stream_and_its_route_files_are_skipped(tmp_path: Path) -> None:
    folder = FIXTURES / "healthkit-to-sqlite_zip"
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as out:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                out.write(path, path.relative_to(folder).as_posix())
    report = import_path(archive, "ada", timezone="America/Los_Angeles")
    assert report.formats == ["apple"]
    assert report.records == {"devices": 1, "fitness_events": 1}
    assert report.skipped["Apple workout route files (GPS positions are not stored)"] == 1


def test_same_workout_from_the_xml_and_the_zip_has_the_same_id(tmp_path: Path) -> None:
    plain, _ = convert((FIXTURES / "healthkit-to-sqlite_export.xml").read_bytes())
    zipped, _ = convert((FIXTURES / "healthkit-to-sqlite_zip/apple_health_export/export.xml").read_bytes())
    assert of(plain, FitnessEvent)[0].event_id == of(zipped, FitnessEvent)[0].event_id


# --- a generated export ---------------------------------------------------------------------


def test_overlapping_watch_and_phone_steps_are_counted_once_with_the_watch_winning() -> None:
    def build(w: AppleExportWriter) -> None:
        for minute in range(0, 30, 10):  # 08:00-08:30: both devices
            t = T0 + timedelta(minutes=minute)
            w.record("StepCount", t, t + timedelta(minutes=10), 300, "count", WATCH)
            w.record("StepCount", t, t + timedelta(minutes=10), 280, "count", PHONE)
        t = T0 + timedelta(minutes=40)  # 08:40-08:50: the watch is charging, only the phone counts
        w.record("StepCount", t, t + timedelta(minutes=10), 500, "count", PHONE)

    records, _ = convert(export(build))
    (bout,) = of(records, FitnessEvent)
    assert (bout.kind, bout.activity_type, bout.event_ts) == ("bout", "walk", T0)
    assert bout.step_increment == 3 * 300 + 500
    assert bout.duration_s == 40 * 60


def test_samples_inside_a_workout_belong_to_it_and_give_time_in_zones() -> None:
    start = T0 + timedelta(hours=10)  # 18:00-18:30

    def build(w: AppleExportWriter) -> None:
        w.workout("Running", start, start + timedelta(minutes=30), kcal=300.0, km=5.0)
        for second in range(0, 30 * 60, 60):
            t = start + timedelta(seconds=second)
            w.record("HeartRate", t, t, 150 if second < 15 * 60 else 170, "count/min")
            w.record("StepCount", t, t + timedelta(minutes=1), 160, "count", WATCH)
        w.record("StepCount", start - timedelta(minutes=20), start - timedelta(minutes=10), 700, "count")

    records, _ = convert(export(build))
    events = {e.kind: e for e in of(records, FitnessEvent)}
    run = events["workout"]
    assert run.step_increment == 30 * 160 and run.heart_rate_bpm == 160 and run.max_heart_rate_bpm == 170
    hr_max = 208 - 0.7 * (2024 - 1985)  # Tanaka, from the export's date of birth (1985) at its export date
    assert hr_max * 0.8 <= 150 < hr_max * 0.9 <= 170
    assert run.hr_zone_s == [0.0, 0.0, 0.0, 15 * 60.0, 15 * 60.0]
    assert events["bout"].step_increment == 700


def test_sleep_stages_come_from_the_watch_with_the_nights_resting_hr_and_hrv() -> None:
    bed = T0 - timedelta(hours=9)  # 23:00 the night before

    def build(w: AppleExportWriter) -> None:
        w.record(
            "SleepAnalysis",
            bed - timedelta(minutes=20),
            bed + timedelta(hours=8),
            "HKCategoryValueSleepAnalysisInBed",
            source=PHONE,
        )
        for k, stage in enumerate(("AsleepCore", "AsleepDeep", "AsleepREM", "Awake", "AsleepCore")):
            t = bed + timedelta(minutes=90 * k)
            w.record("SleepAnalysis", t, t + timedelta(minutes=90), f"HKCategoryValueSleepAnalysis{stage}")
        w.record("RestingHeartRate", T0 - timedelta(hours=7), T0 + timedelta(hours=15), 54, "count/min")
        w.record("HeartRateVariabilitySDNN", bed + timedelta(hours=2), bed + timedelta(hours=2), 48, "ms")
        w.record("HeartRateVariabilitySDNN", T0 + timedelta(hours=6), T0 + timedelta(hours=6), 30, "ms")

    records, ctx = convert(export(build))
    (night,) = of(records, SleepSession)
    assert (night.start_ts, night.end_ts) == (bed, bed + timedelta(minutes=450))
    assert night.sleep_stage_breakdown.model_dump() == {
        "light": 180.0,
        "deep": 90.0,
        "rem": 90.0,
        "awake": 90.0,
    }
    assert (night.awakenings, night.efficiency) == (1, 0.8)
    assert (night.resting_heart_rate_bpm, night.hrv_rmssd_ms) == (54.0, 48.0)
    assert ctx.skipped.counts["HRV readings outside any sleep session"] == 1


def test_dietary_samples_of_one_entry_make_one_meal() -> None:
    lunch = T0 + timedelta(hours=4, minutes=30)

    def build(w: AppleExportWriter) -> None:
        w.record("DietaryEnergyConsumed", lunch, lunch, 650, "kcal", PHONE)
        w.record("DietaryProtein", lunch, lunch, 35, "g", PHONE)
        w.record("DietaryFatTotal", lunch, lunch, 20000, "mg", PHONE)
        w.record("DietaryCarbohydrates", T0, T0, 40, "g", PHONE, metadata={"HKFoodMeal": "Snacks"})

    records, _ = convert(export(build))
    meals = {m.meal_type: m for m in of(records, NutritionLog)}
    assert (meals["lunch"].calories, meals["lunch"].protein_g, meals["lunch"].fat_g) == (650.0, 35.0, 20.0)
    assert (meals["snack"].calories, meals["snack"].carbs_g) == (160.0, 40.0)


def body_export() -> bytes:
    def build(w: AppleExportWriter) -> None:
        w.record("Height", T0, T0, 1.78, "m", PHONE)
        w.record("BodyMass", T0, T0, 80.5, "kg", PHONE)
        w.record("BodyMass", T0 + timedelta(days=7), T0 + timedelta(days=7), 176.0, "lb", PHONE)

    return export(build)


def test_newest_body_mass_creates_a_profile_when_the_export_has_sex_birth_year_and_height(
    tmp_path: Path,
) -> None:
    (tmp_path / "export.xml").write_bytes(body_export())
    captured: list = []
    report = import_path(tmp_path, "ada", lookup_user=lambda uid: (None, True), publish=captured.extend)
    (user,) = of(captured, User)
    assert (user.sex, user.birth_year, user.height_cm) == ("male", 1985, 178.0)
    assert user.weight_kg == pytest.approx(176 * 0.45359237, abs=0.01)
    assert user.updated_ts == T0 + timedelta(days=7) and user.source == "apple_health"
    assert report.skipped["older body-mass readings (the profile keeps the newest)"] == 1


def test_body_mass_updates_only_the_weight_of_an_older_stored_profile(tmp_path: Path) -> None:
    (tmp_path / "export.xml").write_bytes(body_export())
    stored = User(
        user_id="ada",
        sex="female",
        birth_year=1990,
        height_cm=165,
        weight_kg=60,
        goal="endurance",
        allergies=["peanut"],
        updated_ts=T0 - timedelta(days=1),
        timezone="Europe/Paris",
    )
    captured: list = []
    import_path(tmp_path, "ada", lookup_user=lambda uid: (stored, True), publish=captured.extend)
    (user,) = of(captured, User)
    assert user.weight_kg == pytest.approx(79.83, abs=0.01)
    assert (user.sex, user.goal, user.allergies, user.timezone) == (
        "female",
        "endurance",
        ["peanut"],
        "Europe/Paris",
    )


def test_body_mass_is_not_written_when_the_stored_profile_cannot_be_read(tmp_path: Path) -> None:
    (tmp_path / "export.xml").write_bytes(body_export())
    captured: list = []
    report = import_path(tmp_path, "ada", lookup_user=lambda uid: (None, False), publish=captured.extend)
    assert of(captured, User) == []
    assert report.skipped["body mass (the stored profile could not be read, so it is not updated)"] == 1


# --- hostile XML ----------------------------------------------------------------------------


@pytest.fixture
def http_probe():
    """A local HTTP server that counts requests: any fetch of an external resource shows up here."""
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            body = b'<!ENTITY secret "leaked">'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE HealthData [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<HealthData><Record type="HKQuantityTypeIdentifierStepCount" value="&lol3;"/></HealthData>"""


def test_entity_expansion_is_rejected_before_anything_is_used() -> None:
    records, ctx = convert(BILLION_LAUGHS)
    assert records == []
    assert ctx.rejected == [
        ("export.xml", "hostile XML rejected: it declares the entity 'lol' (entities are never expanded)")
    ]


def test_external_entity_is_rejected_without_being_fetched(http_probe) -> None:
    url, hits = http_probe
    xml = (
        f'<?xml version="1.0"?><!DOCTYPE HealthData [<!ENTITY ext SYSTEM "{url}/secret">]>'
        f'<HealthData><Me HKCharacteristicTypeIdentifierBiologicalSex="&ext;"/></HealthData>'
    ).encode()
    records, ctx = convert(xml)
    assert records == [] and hits == []
    assert "hostile XML rejected" in ctx.rejected[0][1] and "'ext'" in ctx.rejected[0][1]


def test_external_dtd_is_never_fetched(http_probe) -> None:
    url, hits = http_probe
    xml = (
        f'<?xml version="1.0"?><!DOCTYPE HealthData SYSTEM "{url}/health.dtd">'
        f'<HealthData><Me HKCharacteristicTypeIdentifierBiologicalSex="HKBiologicalSexFemale"/>'
        f"</HealthData>"
    ).encode()
    ctx = ImportContext("ada")
    list(apple.convert([Entry.from_bytes("export.xml", xml)], ctx))
    assert hits == []
    assert ctx.rejected == [] and ctx.profile.sex == "female"


def test_malformed_xml_is_rejected_with_the_position() -> None:
    records, ctx = convert(b"<HealthData><Record type='x'></HealthData>")
    assert records == [] and ctx.rejected[0][1].startswith("malformed XML: mismatched tag: line 1")


def test_progress_counts_both_passes_over_the_export() -> None:
    data = (FIXTURES / "apple-health-parser_export.xml").read_bytes()
    read, announced = [], []
    ctx = ImportContext("ada")
    ctx.progress = ReadProgress(read.append, announced.append)
    list(apple.convert([Entry.from_bytes("export.xml", data)], ctx))
    assert sum(read) == 2 * len(data) and announced == [len(data)]


def test_entries_with_unreadable_values_are_skipped_and_the_rest_imported() -> None:
    def build(w: AppleExportWriter) -> None:
        w.out.write(' <Workout workoutActivityType="HKWorkoutActivityTypeRunning" startDate="yesterday"/>\n')
        w.out.write(
            ' <Record type="HKQuantityTypeIdentifierStepCount" startDate="2024-03-04 08:00:00 +0100"'
            ' endDate="2024-03-04 08:05:00 +0100" value="many"/>\n'
        )
        w.record("StepCount", T0, T0 + timedelta(minutes=5), 420, "count")

    records, ctx = convert(export(build))
    assert [(r.kind, r.step_increment) for r in of(records, FitnessEvent)] == [("bout", 420)]
    assert ctx.skipped.counts["Apple Workout entries with unreadable dates or values"] == 1
    assert ctx.skipped.counts["Apple records with unreadable dates or values"] == 1
