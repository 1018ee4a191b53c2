"""The shared SVG chart macros (templates/_macros/charts.html) used by the report and the dashboards."""

from __future__ import annotations

from typing import Any

from bs4 import BeautifulSoup

from qa.web.templates import templates


def render(call: str, **values: Any) -> BeautifulSoup:
    source = '{% from "_macros/charts.html" import trend_chart, bar_chart %}' + call
    return BeautifulSoup(templates.env.from_string(source).render(**values), "html.parser")


class TestTrendChart:
    def test_gaps_markers_and_legend(self) -> None:
        series = [
            {"name": "Dana", "values": [80.0, None, 90.25, 70.0], "class": "series-0"},
            {"name": "Team", "values": [60.0, 65.0, None, None], "class": "series-1"},
        ]
        svg = render(
            "{{ trend_chart(labels, series, 'Weekly score') }}",
            labels=["W1", "W2", "W3", "W4"],
            series=series,
        )
        chart = svg.select_one("svg.chart-svg")
        assert chart is not None and chart["role"] == "img" and chart["aria-label"] == "Weekly score"
        dana = svg.select_one("g.series-0")
        assert dana is not None
        path = str(dana.select_one("path.chart-line")["d"])  # type: ignore[index]
        assert path.count("M") == 2 and path.count("L") == 1  # 80 | gap | 90.25 → 70
        assert [t.get_text() for t in dana.select(".chart-point title")] == [
            "Dana, W1: 80.0",
            "Dana, W3: 90.3",
            "Dana, W4: 70.0",
        ]  # one decimal, halves up
        assert len(dana.select("circle.chart-marker")) == 3
        team = svg.select_one("g.series-1")
        assert (
            team is not None and len(team.select("rect.chart-marker")) == 2
        )  # squares tell it apart in print
        assert [t.get_text(strip=True) for t in svg.select(".chart-legend-item")] == ["Dana", "Team"]
        assert svg.select_one(".chart-legend-note") is not None
        assert "style" not in str(svg)  # the CSP forbids inline styles

    def test_y_axis_and_clipping(self) -> None:
        svg = render(
            "{{ trend_chart(['a', 'b'], [{'name': 'x', 'values': [150, -5], 'class': 'series-2'}], 'x') }}"
        )
        assert [t.get_text() for t in svg.select(".chart-ylabel")] == ["0", "25", "50", "75", "100"]
        ys = [
            float(p.split()[1])
            for p in str(svg.select_one("path.chart-line")["d"]).replace("M", "").split("L")
        ]  # type: ignore[index]
        assert ys == [12.0, 188.0]  # clipped to the top and bottom of the plot
        assert len(svg.select("svg.chart-svg path.chart-marker")) == 2  # series-2: triangles

    def test_many_weeks_thin_the_labels_and_keep_the_last(self) -> None:
        labels = [f"W{i}" for i in range(1, 15)]  # 14 weeks: every second label, the last one kept
        svg = render("{{ trend_chart(labels, [], 'x') }}", labels=labels)
        shown = [t.get_text() for t in svg.select(".chart-xlabel")]
        assert shown == ["W1", "W3", "W5", "W7", "W9", "W11", "W14"]
        assert svg.select_one(".chart-legend-note") is None

    def test_one_point_is_centred(self) -> None:
        svg = render("{{ trend_chart(['only'], [{'name': 'x', 'values': [50], 'class': 'series-0'}], 'x') }}")
        marker = svg.select_one("circle.chart-marker")
        assert marker is not None and marker["cx"] == "333.0" and marker["cy"] == "100.0"


class TestBarChart:
    def test_bars_ticks_and_links(self) -> None:
        rows = [
            {"label": "Tone", "value": 72.5, "compare": 80.0, "href": "/x?a=1&b=2"},
            {"label": "Greeting", "value": None, "compare": None, "href": None},
            {"label": "Over", "value": 140.0},
        ]
        table = render(
            "{{ bar_chart(rows, 'Criteria', value_label='Mine', compare_label='Team') }}", rows=rows
        )
        body = table.select("tbody tr")
        assert [r.select_one(".bar-label").get_text(strip=True) for r in body] == ["Tone", "Greeting", "Over"]  # type: ignore[union-attr]
        tone = body[0]
        assert tone.select_one(".bar-label a")["href"] == "/x?a=1&b=2"  # type: ignore[index]
        assert tone.select_one("rect.bar-fill")["width"] == "72.50"  # type: ignore[index]
        assert tone.select_one("rect.bar-compare")["x"] == "79.40"  # type: ignore[index]
        assert [c.get_text(strip=True) for c in tone.select("td.num")] == ["72.5", "80.0"]
        assert body[1].select_one("rect.bar-fill") is None and body[1].select_one("rect.bar-compare") is None
        assert body[2].select_one("rect.bar-fill")["width"] == "100.00"  # type: ignore[index]
        assert table.select_one("caption").get_text() == "Criteria"  # type: ignore[union-attr]
        legend = table.select_one(".chart-legend").get_text(" ", strip=True)  # type: ignore[union-attr]
        assert legend.startswith("Mine") and "Team" in legend

    def test_without_comparison_no_extra_column(self) -> None:
        table = render("{{ bar_chart([{'label': 'a', 'value': 10}], 'x') }}")
        assert len(table.select("tbody td")) == 2 and table.select_one(".chart-legend") is None
