"""Inline SVG charts: accessible, escaped, values in words, marks proportional to the data."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from fitness_core import charts
from fitness_core.charts import BulletRow, Reference, Series

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def bar_heights(svg: str) -> list[float]:
    return [
        float(r.get("height")) for r in parse(svg).iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None
    ]


def test_a_chart_is_a_labelled_image_with_title_and_description() -> None:
    svg = charts.bar_chart(
        ["Mon", "Tue"], [Series("Steps", [1200, 3400])], title="Steps per day", unit="steps"
    )
    root = parse(svg)
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    assert title.text == "Steps per day"
    assert desc.text == "Steps (steps): Mon 1,200, Tue 3,400."


def test_bar_heights_are_proportional_to_values() -> None:
    heights = bar_heights(charts.bar_chart(["a", "b"], [Series("x", [100, 50])], title="t", unit="u"))
    assert heights[0] == 2 * heights[1]


def test_stacked_bars_print_the_total_and_grouped_bars_print_each_value() -> None:
    stacked = charts.bar_chart(
        ["Mon"], [Series("deep", [1.5]), Series("light", [4.0])], title="t", unit="h", stacked=True, digits=1
    )
    texts = [t.text for t in parse(stacked).iter(f"{SVG}text")]
    assert "5.5" in texts
    grouped = charts.bar_chart(["Mon"], [Series("in", [2100]), Series("out", [2400])], title="t", unit="kcal")
    assert {"2.1k", "2.4k"} <= {t.text for t in parse(grouped).iter(f"{SVG}text")}


def test_missing_days_read_no_data_instead_of_zero() -> None:
    svg = charts.bar_chart(["Mon", "Tue"], [Series("Steps", [None, 800])], title="t", unit="steps")
    assert [t.text for t in parse(svg).iter(f"{SVG}text")].count("no data") == 1
    assert "Mon no data" in parse(svg).find(f"{SVG}desc").text


def test_reference_lines_and_bands_carry_their_label_in_text() -> None:
    svg = charts.bar_chart(
        ["Mon"],
        [Series("h", [7])],
        title="Sleep",
        unit="h",
        references=[Reference("recommended 7-9 h", 7, 9)],
    )
    assert "recommended 7-9 h" in [t.text for t in parse(svg).iter(f"{SVG}text")]
    assert parse(svg).find(f"{SVG}desc").text.endswith("recommended 7-9 h.")


def test_text_in_charts_is_escaped() -> None:
    svg = charts.bar_chart(["<b>Mon</b>"], [Series("<script>x</script>", [1])], title="<i>t</i>", unit="u")
    assert "<script>" not in svg and "<b>" not in svg and "<i>" not in svg
    assert "&lt;script&gt;" in svg
    assert parse(svg).find(f"{SVG}title").text == "<i>t</i>"


def test_line_chart_breaks_the_line_at_missing_values() -> None:
    svg = charts.line_chart(["a", "b", "c", "d"], [Series("RHR", [60, 61, None, 62])], title="t", unit="bpm")
    polylines = list(parse(svg).iter(f"{SVG}polyline"))
    assert len(polylines) == 1 and len(polylines[0].get("points").split()) == 2
    assert len(list(parse(svg).iter(f"{SVG}circle"))) == 3


def test_bullet_chart_states_value_and_target_in_words() -> None:
    svg = charts.bullet_chart([BulletRow("Protein", 92.4, "g", 110, 150)], title="Intake")
    assert parse(svg).find(f"{SVG}desc").text == "Protein: 92 g (target 110-150)."


def test_band_scale_names_the_band_of_the_value() -> None:
    bands = [Reference("low", 0, 0.8), Reference("steady", 0.8, 1.3), Reference("spike", 1.3)]
    svg = charts.band_scale(1.3, bands, title="ACWR", unit="ACWR", scale_max=2)
    assert parse(svg).find(f"{SVG}desc").text.startswith("ACWR 1.30, in the band spike.")
    assert "no data" in charts.band_scale(None, bands, title="ACWR", unit="ACWR", scale_max=2)


def test_identical_charts_get_identical_ids_and_different_charts_different_ids() -> None:
    a = charts.bar_chart(["a"], [Series("x", [1])], title="t", unit="u")
    b = charts.bar_chart(["a"], [Series("x", [2])], title="t", unit="u")
    ids = re.compile(r'id="([^"]+)"')
    assert ids.findall(a) == ids.findall(charts.bar_chart(["a"], [Series("x", [1])], title="t", unit="u"))
    assert ids.findall(a) != ids.findall(b)


def test_format_number_uses_thousands_separators_and_no_data_for_none() -> None:
    assert charts.format_number(12345.678) == "12,346"
    assert charts.format_number(0.7234, 2) == "0.72"
    assert charts.format_number(None) == "no data"


def contrast(colour: str, background: str = "#ffffff") -> float:
    """WCAG 2 contrast ratio between two sRGB hex colours."""

    def luminance(hex_colour: str) -> float:
        channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted((luminance(colour), luminance(background)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_chart_colours_contrast_with_white_enough_for_text() -> None:
    assert min(contrast(c) for c in (*charts.PALETTE, charts.INK, charts.MUTED)) >= 4.5
    assert round(contrast("#000000"), 1) == 21.0
