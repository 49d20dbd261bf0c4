"""Import limits and plausibility: archive directories, cut-off readers, JSON depth, XML text, dates, ranges."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from fitness_streaming.importers import InputError, import_path, summary_lines
from fitness_streaming.importers.common import Entry, ImportContext, RejectedFile
from fitness_streaming.importers.limits import MB, ImportLimits, LimitExceeded, bounded, check_json
from fitness_streaming.importers.runner import nothing_imported
from fitness_streaming.importers.xmlsafe import iter_top_level
from tests.fixtures.generated import write_synthetic_apple_export

HEAD = b'<?xml version="1.0" encoding="UTF-8"?>\n<HealthData locale="en_US">\n'


def gpx(start: str, bpms: tuple[int, ...] = (120, 130, 140)) -> str:
    """A GPX run of one track point per minute from ``start`` (``YYYY-MM-DD``), with heart rates."""
    points = "".join(
        f'<trkpt lat="48.85{i}" lon="2.35{i}"><time>{start}T07:0{i}:00Z</time><extensions>'
        f"<gpxtpx:TrackPointExtension><gpxtpx:hr>{bpm}</gpxtpx:hr></gpxtpx:TrackPointExtension>"
        "</extensions></trkpt>"
        for i, bpm in enumerate(bpms)
    )
    return (
        '<?xml version="1.0"?><gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1" '
        'xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v1">'
        f"<trk><name>Morning run</name><type>running</type><trkseg>{points}</trkseg></trk></gpx>"
    )


# --- archives ---------------------------------------------------------------------------------


def test_a_real_sized_apple_export_passes_the_archive_limits(tmp_path: Path) -> None:
    text = io.StringIO()
    write_synthetic_apple_export(text, 20_000_000)
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("apple_health_export/export.xml", text.getvalue())
    info = zipfile.ZipFile(archive).infolist()[0]
    assert 20 < info.file_size / info.compress_size < ImportLimits().max_ratio  # about 36: real exports 10-40
    assert ImportLimits().archive_problem([info]) is None
    assert import_path(archive, "ivy").total > 100


def test_the_zip_directory_refuses_bombs_big_members_and_big_totals(tmp_path: Path) -> None:
    archive = tmp_path / "takeout.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("Takeout/Fitbit/heart_rate-2024-01-01.json", b" " * (4 * MB))  # about 1000:1
        z.writestr("Takeout/Fitbit/steps-2024-01-01.json", b"[]")
    with pytest.raises(
        InputError,
        match=r"takeout\.zip refused: .*heart_rate-2024-01-01\.json expands 1,0\d\d times "
        r"\(4\.\d KB to 4\.0 MB\).*\(IMPORT_MAX_RATIO\): a zip bomb$",
    ):
        import_path(archive, "ivy")
    member = ImportLimits(max_ratio=10_000, max_member_mb=2)
    with pytest.raises(
        InputError,
        match=r"expands to 4\.0 MB, more than the 2 MB allowed per file "
        r"\(IMPORT_MAX_MEMBER_MB\)",
    ):
        import_path(archive, "ivy", limits=member)
    total = ImportLimits(max_ratio=10_000, max_expanded_mb=3)
    with pytest.raises(InputError, match=r"IMPORT_MAX_EXPANDED_MB"):
        import_path(archive, "ivy", limits=total)


def test_a_member_is_cut_off_at_the_size_its_directory_states() -> None:
    assert bounded(io.BytesIO(b"x" * 1000), 1000, "export.xml").read() == b"x" * 1000
    stream = bounded(io.BytesIO(b"x" * 5000), 1000, "export.xml")
    with pytest.raises(
        LimitExceeded, match=r"export\.xml holds more than the 1,000 bytes its zip directory states"
    ):
        stream.read()


def test_a_zip_that_lies_about_a_member_size_is_refused_before_anything_is_read(tmp_path: Path) -> None:
    archive = tmp_path / "export.zip"
    body = HEAD + b'<ExportDate value="2024-01-01 00:00:00 +0000"/>' + b"\n" * 50_000 + b"</HealthData>"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("apple_health_export/export.xml", body)
    data = bytearray(archive.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):  # local header, central directory
        at = data.find(signature) + offset
        data[at : at + 4] = (5000).to_bytes(4, "little")
    archive.write_bytes(bytes(data))
    with pytest.raises(
        InputError, match=r"^apple_health_export/export\.xml: damaged archive member \(Bad CRC-32"
    ):
        import_path(archive, "ivy")


# --- JSON and XML -----------------------------------------------------------------------------


def test_json_is_checked_for_syntax_depth_and_token_length_without_keeping_it() -> None:
    assert check_json(io.BytesIO(b'[{"a": [1, 2]}]'), 4) == "array"
    assert check_json(io.BytesIO(b'{"sleep": []}'), 4) == "map"
    with pytest.raises(LimitExceeded, match=r"JSON nested deeper than 4 levels \(IMPORT_MAX_JSON_DEPTH\)"):
        check_json(io.BytesIO(b"[" * 5 + b"]" * 5), 4)
    with pytest.raises(LimitExceeded, match=r"longer than 1 MB \(IMPORT_MAX_TEXT_MB\)"):
        check_json(io.BytesIO(b'["' + b"a" * (3 * MB) + b'"]'), 4, max_text_bytes=MB)
    with pytest.raises(RejectedFile, match=r"truncated or malformed JSON: parse error: premature EOF$"):
        check_json(io.BytesIO(b'[{"a": '), 4)


def test_a_deeply_nested_fitbit_file_is_rejected_naming_the_limit_and_the_others_count(
    tmp_path: Path,
) -> None:
    (tmp_path / "sleep-2024-01-01.json").write_bytes(
        b'[{"dateOfSleep": "2024-01-01", "levels": ' + b"[" * 100_000 + b"]" * 100_000 + b"}]"
    )
    (tmp_path / "steps-2024-01-01.json").write_text('[{"dateTime": "01/01/24 10:00:00", "value": "80"}]')
    report = import_path(tmp_path, "ivy", fmt="fitbit")
    assert report.rejected == [
        ("sleep-2024-01-01.json", "JSON nested deeper than 64 levels (IMPORT_MAX_JSON_DEPTH)")
    ]
    assert report.records["fitness_events"] == 1  # the steps file still counts
    assert nothing_imported(report) is None


def test_xml_text_is_never_kept_and_a_huge_text_rejects_the_export() -> None:
    small = HEAD + b'<Record type="x" value="1">' + b" " * 100_000 + b"</Record></HealthData>"
    elements = list(iter_top_level(io.BytesIO(small)))
    assert [e.tag for e in elements] == ["Record"] and elements[0].text is None
    huge = HEAD + b"<Record>" + b"\n" * (3 * MB) + b"</Record></HealthData>"
    with pytest.raises(LimitExceeded, match=r"more than 1 MB of XML without an element .*IMPORT_MAX_TEXT_MB"):
        list(iter_top_level(io.BytesIO(huge), max_text_bytes=MB))


def test_whole_file_parsers_refuse_files_over_the_cap(tmp_path: Path) -> None:
    (tmp_path / "run.gpx").write_text(gpx("2024-05-01") + " " * (2 * MB))
    report = import_path(tmp_path / "run.gpx", "ivy", limits=ImportLimits(max_file_mb=1))
    assert report.rejected == [
        ("run.gpx", "file of 2.0 MB is larger than the 1 MB read whole (IMPORT_MAX_FILE_MB)")
    ]
    assert nothing_imported(report) == f"nothing imported: run.gpx: {report.rejected[0][1]}"


# --- plausibility -----------------------------------------------------------------------------


def test_workouts_dated_1900_or_2100_are_dropped_and_counted(tmp_path: Path) -> None:
    for day in ("1900-01-01", "2100-01-01", "2024-05-01"):
        (tmp_path / f"run-{day}.gpx").write_text(gpx(day))
    report = import_path(tmp_path, "ivy")
    assert report.records == {"fitness_events": 1} and report.rejected == []
    assert report.dropped == {
        "timestamp before 2000-01-01 (workouts)": 1,
        "timestamp more than a day in the future (workouts)": 1,
    }
    assert (
        "dropped 2 implausible: timestamp before 2000-01-01 (workouts): 1; "
        "timestamp more than a day in the future (workouts): 1"
    ) in summary_lines(report)


def test_a_heart_rate_of_400_is_dropped_and_counted_and_the_workout_kept(tmp_path: Path) -> None:
    (tmp_path / "run.gpx").write_text(gpx("2024-05-01", bpms=(120, 400, 140)))
    report = import_path(tmp_path, "ivy")
    assert report.records == {"fitness_events": 1}
    assert report.dropped == {"heart_rate out of range 25-250": 1}
    assert "dropped 1 implausible: heart_rate out of range 25-250: 1" in summary_lines(report)


def test_apple_samples_out_of_range_or_out_of_time_are_counted_one_by_one(tmp_path: Path) -> None:
    def record(kind: str, when: str, value: str, unit: str = "count/min") -> str:
        return (
            f'<Record type="HKQuantityTypeIdentifier{kind}" sourceName="Watch" unit="{unit}" '
            f'startDate="{when} +0000" endDate="{when} +0000" value="{value}"/>'
        )

    rows = [
        record("HeartRate", "2024-03-01 10:00:00", "400"),
        record("HeartRate", "2024-03-01 10:01:00", "0"),
        record("HeartRate", "1999-12-31 10:00:00", "70"),
        record("StepCount", "1970-01-01 10:00:00", "50", "count"),
        record("StepCount", "2199-01-01 10:00:00", "50", "count"),
        record("StepCount", "2024-03-01 10:00:00", "500", "count"),
        record("HeartRate", "2024-03-01 10:02:00", "90"),
    ]
    (tmp_path / "export.xml").write_text(HEAD.decode() + "".join(rows) + "</HealthData>")
    report = import_path(tmp_path, "ivy")
    assert report.records["fitness_events"] == 1  # one bout: the plausible steps and heart rate
    assert report.dropped == {
        "heart_rate out of range 25-250": 2,
        "timestamp before 2000-01-01 (heart-rate samples)": 1,
        "timestamp before 2000-01-01 (step samples)": 1,
        "timestamp more than a day in the future (step samples)": 1,
    }


def test_plausible_time_window_is_2000_to_a_day_after_the_import() -> None:
    ctx = ImportContext("ivy")
    now = ctx.ingest_ts.timestamp()
    assert ctx.plausible_time(946_684_800, "x") and ctx.plausible_time(now + 86_000, "x")
    assert not ctx.plausible_time(946_684_799, "x") and not ctx.plausible_time(now + 86_500, "x")
    assert ctx.dropped.total == 2


def test_whole_files_read_through_an_entry_respect_the_cap() -> None:
    ctx = ImportContext("ivy", limits=ImportLimits(max_file_mb=1))
    assert ctx.read(Entry.from_bytes("a.fit", b"x" * 10)) == b"x" * 10
    with pytest.raises(LimitExceeded, match="IMPORT_MAX_FILE_MB"):
        ctx.read(Entry.from_bytes("b.fit", b"x" * (MB + 1)))
