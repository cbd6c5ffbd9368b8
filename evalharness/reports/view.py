"""What a report shows, as typed data: a page is a list of sections, each a table, a chart or
notes, with a stable id. Run reports, comparisons and histories are built as pages, and every
output format (text, Markdown, JSON, HTML) renders the same page, so a section cannot be in
one format and missing from another (a test checks every section in every format).

Cells carry display text, an optional sort key (HTML tables sort by it) and optional rich
spans: word-level differences (`ins`, `del`), highlighted terms (`term`) and error spans a
model metric marks, by severity (`minor`, `major`, `critical`), which each format shows in
its own way."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

VIEW_SCHEMA_VERSION = 2  # 2: scatter and timeline charts, axis titles, a page filter


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


SpanKind = Literal["plain", "ins", "del", "term", "minor", "major", "critical"]


class Span(_Model):
    text: str
    kind: SpanKind = "plain"


class Cell(_Model):
    text: str = ""
    sort: float | None = None  # numeric sort key (HTML)
    spans: list[Span] | None = None  # rich content; `text` is then the plain version
    tone: Literal["", "good", "bad", "muted"] = ""  # better / worse / unimportant

    @classmethod
    def of(cls, value: object, digits: int = 2, tone: str = "") -> Cell:
        """A cell for a plain value: numbers formatted and kept as sort keys; None is '–'."""
        if value is None:
            return cls(text="–", tone=tone or "muted")
        if isinstance(value, bool):
            return cls(text="yes" if value else "no", tone=tone)
        if isinstance(value, int | float):
            return cls(
                text=f"{value:.{digits}f}" if isinstance(value, float) else str(value),
                sort=float(value),
                tone=tone,
            )
        return cls(text=str(value), tone=tone)

    @classmethod
    def pct(cls, value: float | None) -> Cell:
        return cls(text="–", tone="muted") if value is None else cls(text=f"{value:.0%}", sort=value)

    @classmethod
    def score(cls, record) -> Cell:
        """A ScoreRecord (or None): the score with its 95% half-width."""
        if record is None:
            return cls(text="–", tone="muted")
        hw = f" ± {record.interval.half_width:.2f}" if record.interval else ""
        return cls(text=f"{record.score:.2f}{hw}", sort=record.score)

    @classmethod
    def rich(cls, spans: list[Span]) -> Cell:
        return cls(text="".join(s.text for s in spans), spans=spans)


class Table(_Model):
    kind: Literal["table"] = "table"
    id: str
    title: str
    columns: list[str]
    rows: list[list[Cell]]
    note: str = ""
    sortable: bool = False  # the HTML page offers sorting and a filter box
    wide: list[int] = Field(default_factory=list)  # columns with long text (they wrap)
    group: str = ""  # what the page's filter box matches for the whole section (empty: each row)


class Series(_Model):
    label: str
    values: list[float | None]
    low: list[float | None] | None = None  # interval bounds, same length as values
    high: list[float | None] | None = None
    x: list[float | None] | None = None  # scatter and timeline: each point's x (timeline: POSIX seconds)
    points: list[str] | None = None  # scatter and timeline: each point's label (tooltip)


class Chart(_Model):
    """`intervals`: one panel per category, one bar per series with its interval;
    `histogram`: bins (categories), one bar per series in each; `trend`: series over shared
    categories (runs); `scatter`: one point per segment (x against value, the diagonal
    drawn); `timeline`: each series' points at its own times (x), with interval bands."""

    kind: Literal["chart"] = "chart"
    id: str
    title: str
    chart: Literal["intervals", "histogram", "trend", "scatter", "timeline"]
    categories: list[str]  # x axis: metrics (intervals), bins (histogram) or runs (trend); else empty
    series: list[Series]
    note: str = ""
    x_title: str = ""  # scatter and timeline axes
    y_title: str = ""
    group: str = ""  # as Table.group (empty: the filter box matches each series)


class Notes(_Model):
    kind: Literal["notes"] = "notes"
    id: str
    title: str
    lines: list[str]


Section = Table | Chart | Notes


class Fact(_Model):
    """A line of provenance shown at the top of every format (test set, pair, run ids...)."""

    label: str
    value: str


class Page(_Model):
    schema_version: int = VIEW_SCHEMA_VERSION
    kind: Literal["run", "comparison", "history"]
    title: str
    facts: list[Fact] = Field(default_factory=list)
    # HTML: one filter box over the page, with this placeholder (empty: none). It hides the
    # sections whose `group`, the charts' series and the other tables' rows that do not
    # contain what is typed; the text formats are filtered on the command line instead.
    filter: str = ""
    sections: list[Annotated[Table | Chart | Notes, Field(discriminator="kind")]]

    def section(self, section_id: str) -> Section:
        return next(s for s in self.sections if s.id == section_id)
