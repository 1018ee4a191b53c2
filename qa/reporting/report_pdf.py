"""The agent feedback report as a PDF file (fpdf2, pure Python): the page's figures and vector charts.

Decisions:
- **fpdf2** draws lines, rectangles and text directly, so the charts are vector graphics that print
  sharply, and there is no browser or native library to install.
- **Fonts**: DejaVu Sans when the machine has it (any script: names are Unicode), else the PDF core
  font Helvetica, which covers Latin-1 only: other characters are then transliterated where they
  can be (– → -, Ł → L) and shown as "?" otherwise. The PDF stays valid either way.
- **Black and white**: the agent's line is solid with round markers, the team's dashed with square
  markers; the team average on a criterion bar is a black tick, as on the page.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from fpdf import FPDF

from qa.reporting.agent_report import MONTHS, AgentReport, call_out_reason, format_day
from scorecards import format_score

FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"),
             Path("/usr/share/fonts/TTF"), Path("/Library/Fonts"))
PAGE_W, MARGIN = 210.0, 15.0
WIDTH = PAGE_W - 2 * MARGIN
INK, MUTED, GRID = (28, 35, 48), (102, 112, 133), (210, 214, 220)
AGENT_COLOUR, TEAM_COLOUR = (59, 91, 219), (73, 84, 103)
TRANSLIT = str.maketrans({"–": "-", "—": "-", "−": "-", "‘": "'", "’": "'", "“": '"', "”": '"', "…": "...",
                          "Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "Œ": "OE", "œ": "oe", "•": "·"})


def _font_files() -> tuple[Path, Path] | None:
    for folder in FONT_DIRS:
        regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
        if regular.is_file() and bold.is_file():
            return regular, bold
    return None


def latin1(text: str) -> str:
    """Text the core fonts can draw: transliterated, accents kept where Latin-1 has them, else "?"."""
    out = []
    for char in text.translate(TRANSLIT):
        if ord(char) < 256:
            out.append(char)
            continue
        base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
        out.append(base if base and all(ord(c) < 256 for c in base) else "?")
    return "".join(out)


class ReportPDF(FPDF):
    """A4 portrait with Caliper's footer; `t` makes text drawable in the chosen font."""

    def __init__(self, source_url: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.source_url = source_url
        fonts = _font_files()
        self.unicode = fonts is not None
        if fonts is not None:
            self.add_font("body", "", str(fonts[0]))
            self.add_font("body", "B", str(fonts[1]))
            self.body_font = "body"
        else:
            self.body_font = "helvetica"
        self.set_margins(MARGIN, MARGIN, MARGIN)
        self.set_auto_page_break(True, margin=16)

    def t(self, text: str) -> str:
        return text if self.unicode else latin1(text)

    def font(self, size: float, bold: bool = False, colour: tuple[int, int, int] = INK) -> None:
        self.set_font(self.body_font, "B" if bold else "", size)
        self.set_text_color(*colour)

    def footer(self) -> None:
        self.set_y(-12)
        self.font(7.5, colour=MUTED)
        self.cell(WIDTH / 2, 5, self.t(f"Caliper · {self.source_url}"), align="L")
        self.cell(WIDTH / 2, 5, f"Page {self.page_no()} of {{nb}}", align="R")


def report_pdf(report: AgentReport, *, summary: str, source_url: str,
               generated: datetime | None = None) -> bytes:
    """The report as PDF bytes."""
    pdf = ReportPDF(source_url)
    title = f"Quality report: {report.agent.name}"
    pdf.set_title(title)
    pdf.set_subject(f"{report.period.label}. {summary}")
    pdf.set_creator("Caliper")
    pdf.add_page()
    _head(pdf, report, title, summary, generated or datetime.now(UTC))
    _figures(pdf, report)
    _trend(pdf, report)
    _criteria(pdf, report)
    _root_causes(pdf, report)
    _critical_fails(pdf, report)
    _comments(pdf, report)
    return bytes(pdf.output())


def _head(pdf: ReportPDF, report: AgentReport, title: str, summary: str, generated: datetime) -> None:
    pdf.font(18, bold=True)
    pdf.multi_cell(WIDTH, 8, pdf.t(title), align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.font(9.5, colour=MUTED)
    team = f"Team {report.agent.team_name} · " if report.agent.team_name else ""
    when = f"{format_day(generated.date())} {generated:%H:%M} UTC"
    pdf.multi_cell(WIDTH, 5, pdf.t(f"{team}{report.period.label} · generated {when}"), align="L",
                   new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.font(11)
    pdf.multi_cell(WIDTH, 5.5, pdf.t(summary), align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)


def _figures(pdf: ReportPDF, report: AgentReport) -> None:
    q = report.quality
    change = report.change
    boxes = [
        ("Quality score", format_score(q.iqs)),
        ("Change", "—" if change is None else f"{'+' if change >= 0 else '−'}{format_score(abs(change))}"),
        ("Team average", format_score(report.team_iqs) if report.team else "no team"),
        ("Reviews", str(q.reviews)),
        ("Pass rate", "—" if q.pass_rate is None else f"{format_score(q.pass_rate)}%"),
        ("Critical fails", str(q.critical_fails)),
    ]
    width, top = WIDTH / len(boxes), pdf.get_y()
    pdf.set_draw_color(*GRID)
    pdf.set_line_width(0.3)
    for index, (label, value) in enumerate(boxes):
        x = MARGIN + index * width
        pdf.rect(x + 0.8, top, width - 1.6, 17)
        pdf.set_xy(x + 2.5, top + 2)
        pdf.font(7.5, colour=MUTED)
        pdf.cell(width - 5, 4, pdf.t(label.upper()))
        pdf.set_xy(x + 2.5, top + 7.5)
        pdf.font(15, bold=True)
        pdf.cell(width - 5, 7, pdf.t(value))
    pdf.set_xy(MARGIN, top + 20)
    pdf.font(8, colour=MUTED)
    prev = report.previous_period
    pdf.multi_cell(WIDTH, 4, pdf.t(
        f"Change: against {prev.label} ({format_score(report.previous.iqs)}). Pass rate: {q.passed} of "
        f"{q.judged} reviews with a verdict passed."), align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)


def _section(pdf: ReportPDF, title: str, height: float) -> None:
    """A section title, on a new page when the section would not fit."""
    if pdf.will_page_break(height + 9):
        pdf.add_page()
    pdf.ln(2)
    pdf.font(12, bold=True)
    pdf.cell(WIDTH, 7, pdf.t(title), new_x="LMARGIN", new_y="NEXT")


def _trend(pdf: ReportPDF, report: AgentReport) -> None:
    """Weekly IQS: the agent's line (solid, circles) and the team's (dashed, squares); gaps = no reviews."""
    chart_h = 55.0
    _section(pdf, "Weekly trend", chart_h + 14)
    left, top, width = MARGIN + 9, pdf.get_y() + 2, WIDTH - 11
    pdf.font(7, colour=MUTED)
    pdf.set_line_width(0.2)
    for step in range(5):
        y = top + chart_h - chart_h * step / 4
        pdf.set_draw_color(*(GRID if step else MUTED))
        pdf.line(left, y, left + width, y)
        pdf.set_xy(MARGIN - 1, y - 2)
        pdf.cell(9, 4, str(25 * step), align="R")
    weeks = report.weekly
    xs = [left + width / 2] if len(weeks) == 1 else [left + width * i / (len(weeks) - 1) for i in
                                                     range(len(weeks))]
    every = max(1, (len(weeks) + 9) // 10)
    for i, point in enumerate(weeks):
        if (i % every == 0 and len(weeks) - 1 - i >= every) or i == len(weeks) - 1:  # as on the page
            pdf.set_xy(xs[i] - 10, top + chart_h + 1)
            pdf.cell(20, 4, f"{point.week.day} {MONTHS[point.week.month - 1]}", align="C")
    if report.team is not None:
        _series(pdf, xs, [p.team.iqs if p.team else None for p in weeks], top, chart_h, TEAM_COLOUR,
                dashed=True)
    _series(pdf, xs, [p.agent.iqs for p in weeks], top, chart_h, AGENT_COLOUR, dashed=False)
    pdf.set_dash_pattern()
    pdf.set_xy(MARGIN, top + chart_h + 6)
    _legend(pdf, report)


def _series(pdf: ReportPDF, xs: Sequence[float], values: Sequence[float | None], top: float, height: float,
            colour: tuple[int, int, int], *, dashed: bool) -> None:
    points = [(x, top + height - height * max(0.0, min(v, 100.0)) / 100) if v is not None else None
              for x, v in zip(xs, values, strict=True)]
    pdf.set_draw_color(*colour)
    pdf.set_fill_color(*colour)
    pdf.set_line_width(0.6)
    _dash(pdf, dashed)
    for a, b in zip(points, points[1:], strict=False):
        if a is not None and b is not None:
            pdf.line(a[0], a[1], b[0], b[1])
    _dash(pdf, False)
    for p in points:
        if p is not None:
            _marker(pdf, p[0], p[1], square=dashed)


def _dash(pdf: ReportPDF, dashed: bool) -> None:
    if dashed:
        pdf.set_dash_pattern(dash=1.6, gap=1.0)
    else:
        pdf.set_dash_pattern()


def _marker(pdf: ReportPDF, x: float, y: float, *, square: bool) -> None:
    """The team's square marker or the agent's round one, centred on x, y."""
    if square:
        pdf.rect(x - 1, y - 1, 2, 2, style="F")
    else:
        pdf.circle(x, y, 1.1, style="F")


def _legend(pdf: ReportPDF, report: AgentReport) -> None:
    y = pdf.get_y() + 2
    entries = [(report.agent.name, AGENT_COLOUR, False)]
    if report.team is not None:
        entries.append((f"Team {report.agent.team_name}", TEAM_COLOUR, True))
    x = MARGIN
    pdf.font(8.5)
    for name, colour, dashed in entries:
        pdf.set_draw_color(*colour)
        pdf.set_fill_color(*colour)
        pdf.set_line_width(0.6)
        _dash(pdf, dashed)
        pdf.line(x, y, x + 9, y)
        _dash(pdf, False)
        _marker(pdf, x + 4.5, y, square=dashed)
        pdf.set_xy(x + 11, y - 2.5)
        text = pdf.t(name)
        pdf.cell(pdf.get_string_width(text) + 2, 5, text)
        x += pdf.get_string_width(text) + 20
    pdf.set_xy(x, y - 2.5)
    pdf.font(7.5, colour=MUTED)
    pdf.cell(WIDTH - x + MARGIN, 5, "A break in a line: no reviews that week.")
    pdf.set_xy(MARGIN, y + 4)


def _criteria(pdf: ReportPDF, report: AgentReport) -> None:
    """Per criterion: a bar of the agent's mean, a tick at the team's, the numbers on the right."""
    rows = report.criteria
    _section(pdf, "Criteria", 8 + 6 * min(len(rows), 6))
    if not rows:
        _empty(pdf, "No rated criteria in this period.")
        return
    label_w, bar_w, num_w = 62.0, WIDTH - 62 - 44, 22.0
    pdf.font(7.5, colour=MUTED)
    pdf.cell(label_w + bar_w, 4, "")
    pdf.cell(num_w, 4, "AVERAGE (N)", align="R")
    pdf.cell(num_w, 4, "TEAM", align="R", new_x="LMARGIN", new_y="NEXT")
    for row in rows:
        if pdf.will_page_break(6):
            pdf.add_page()
        y = pdf.get_y()
        pdf.font(9)
        pdf.cell(label_w, 6, pdf.t(_fit(pdf, row.name, label_w - 2)))
        x = MARGIN + label_w
        pdf.set_fill_color(238, 240, 243)
        pdf.rect(x, y + 1.5, bar_w - 3, 3, style="F")
        if row.mean is not None:
            pdf.set_fill_color(184, 196, 245)
            pdf.set_draw_color(47, 74, 184)
            pdf.set_line_width(0.2)
            pdf.rect(x, y + 1.5, (bar_w - 3) * row.mean / 100, 3, style="DF")
        if row.team_mean is not None:
            pdf.set_draw_color(*INK)
            pdf.set_line_width(0.6)
            tick = x + (bar_w - 3) * row.team_mean / 100
            pdf.line(tick, y + 0.5, tick, y + 5.5)
        pdf.set_xy(x + bar_w, y)
        pdf.cell(num_w, 6, f"{format_score(row.mean)} ({row.n})", align="R")
        pdf.font(9, colour=MUTED)
        pdf.cell(num_w, 6, format_score(row.team_mean), align="R", new_x="LMARGIN", new_y="NEXT")
    has_team = report.team is not None
    pdf.ln(1)
    for label, picked in (("Doing well", report.strongest), ("To work on", report.weakest)):
        if picked:
            text = "; ".join(f"{r.name} ({call_out_reason(r, has_team=has_team)})" for r in picked)
            pdf.font(9, bold=True)
            pdf.cell(24, 5, pdf.t(f"{label}:"))
            pdf.font(9)
            pdf.multi_cell(WIDTH - 24, 5, pdf.t(text), align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.font(7.5, colour=MUTED)
    pdf.multi_cell(WIDTH, 4, pdf.t(
        "Bar: the average rating (0-100) on the criterion, N/A left out; tick: the team's average. "
        "Called out: the criteria furthest above and below the team with at least 2 ratings."),
        align="L", new_x="LMARGIN", new_y="NEXT")


def _fit(pdf: ReportPDF, text: str, width: float) -> str:
    """The text, cut with an ellipsis to fit `width`."""
    text = pdf.t(text)
    if pdf.get_string_width(text) <= width:
        return text
    while text and pdf.get_string_width(text + "...") > width:
        text = text[:-1]
    return text + "..."


def _empty(pdf: ReportPDF, text: str) -> None:
    pdf.font(9, colour=MUTED)
    pdf.cell(WIDTH, 6, pdf.t(text), new_x="LMARGIN", new_y="NEXT")


def _table(pdf: ReportPDF, header: Sequence[str], widths: Sequence[float], rows: Sequence[Sequence[str]],
           right: Sequence[int] = ()) -> None:
    pdf.font(7.5, colour=MUTED)
    for index, (text, width) in enumerate(zip(header, widths, strict=True)):
        pdf.cell(width, 5, pdf.t(text.upper()), align="R" if index in right else "L")
    pdf.ln(5)
    pdf.set_draw_color(*GRID)
    pdf.set_line_width(0.2)
    for row in rows:
        if pdf.will_page_break(6):
            pdf.add_page()
        pdf.line(MARGIN, pdf.get_y(), MARGIN + WIDTH, pdf.get_y())
        pdf.font(9)
        for index, (text, width) in enumerate(zip(row, widths, strict=True)):
            pdf.cell(width, 6, _fit(pdf, text, width - 1.5), align="R" if index in right else "L")
        pdf.ln(6)


def _root_causes(pdf: ReportPDF, report: AgentReport) -> None:
    _section(pdf, "Most frequent root causes", 20)
    if not report.root_causes:
        _empty(pdf, "No root causes were given in this period.")
        return
    _table(pdf, ["Criterion", "Root cause", "Times"], [70, 90, 20],
           [[r.criterion_name, r.cause, str(r.count)] for r in report.root_causes], right=(2,))


def _critical_fails(pdf: ReportPDF, report: AgentReport) -> None:
    _section(pdf, f"Critical fails ({report.quality.critical_fails})", 20)
    if not report.critical_fails:
        _empty(pdf, "No critical fails in this period.")
        return
    _table(pdf, ["Date (UTC)", "Conversation", "Criterion", "Rating"], [26, 80, 50, 24],
           [[f.submitted_at.strftime("%Y-%m-%d"), f.subject, f.criterion_name, f.option_label or "N/A"]
            for f in report.critical_fails])


def _comments(pdf: ReportPDF, report: AgentReport) -> None:
    _section(pdf, "Recent comments", 20)
    if not report.comments:
        _empty(pdf, "No comments in this period.")
        return
    for comment in report.comments:
        if pdf.will_page_break(12):
            pdf.add_page()
        about = f" on {comment.criterion_name}" if comment.criterion_name else ""
        pdf.font(8, colour=MUTED)
        pdf.cell(WIDTH, 4.5, pdf.t(f"{comment.submitted_at:%Y-%m-%d} · {comment.reviewer}{about}"),
                 new_x="LMARGIN", new_y="NEXT")
        pdf.font(9.5)
        pdf.multi_cell(WIDTH, 5, pdf.t(comment.text), align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1.5)
