"""Charts: pure functions, DataFrame in, plotly Figure out.

French formats (decimal comma, space as thousands separator), a colour-blind
safe palette (Okabe-Ito), and patterns or text beside colour so that figures
stay readable in black and white. Charts never query the database.
"""

from __future__ import annotations

import re

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from tracker.formats import format_eur, format_number, format_percent

# Okabe & Ito (2008), "Color Universal Design": distinguishable by every
# common form of colour blindness.
OKABE_ITO = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "sky": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
    "grey": "#6E6E6E",
}
FONT = "Source Sans Pro, Arial, sans-serif"


def _wrapped(text: str, width: int = 32) -> str:
    """A long axis label over several lines (plotly breaks lines with <br>)."""
    words, lines, line = text.split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    lines.append(line)
    return "<br>".join(lines)


def _base_layout(fig: go.Figure, *, title: str, height: int) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0, "xanchor": "left"},
        separators=", ",  # decimal comma, space between thousands
        font={"family": FONT, "size": 14},
        height=height,
        margin={"l": 10, "r": 20, "t": 60, "b": 40},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1},
        plot_bgcolor="white",
        paper_bgcolor="white",
    )
    return fig


def progress_by_objective(df: pd.DataFrame) -> go.Figure:
    """Actual against expected progress per objective, as horizontal bars.

    ``df`` columns: ``objectif`` (label), ``avancement`` and ``attendu``
    (percent, may be missing).
    """
    labels = [_wrapped(str(label)) for label in df["objectif"]]
    fig = go.Figure()
    fig.add_bar(
        name="Avancement réel",
        y=labels,
        x=df["avancement"],
        orientation="h",
        marker={"color": OKABE_ITO["blue"]},
        text=[format_percent(v) for v in df["avancement"]],
        textposition="outside",
        hovertemplate="%{y}<br>Avancement réel : %{x:.0f} %<extra></extra>",
    )
    fig.add_bar(
        name="Avancement attendu selon le calendrier",
        y=labels,
        x=df["attendu"],
        orientation="h",
        marker={
            "color": "white",
            "line": {"color": OKABE_ITO["orange"], "width": 2},
            "pattern": {"shape": "/", "fgcolor": OKABE_ITO["orange"], "size": 8},
        },
        text=[format_percent(v) if pd.notna(v) else "" for v in df["attendu"]],
        textposition="outside",
        hovertemplate="%{y}<br>Avancement attendu : %{x:.0f} %<extra></extra>",
    )
    fig.update_layout(barmode="group", bargap=0.25)
    fig.update_traces(cliponaxis=False)  # a label past the axis end stays whole
    fig.update_xaxes(
        range=[0, 115],
        tickvals=[0, 25, 50, 75, 100],
        ticktext=["0 %", "25 %", "50 %", "75 %", "100 %"],
        gridcolor="#DDDDDD",
        title=None,
    )
    fig.update_yaxes(autorange="reversed", title=None)
    return _base_layout(fig, title="Avancement par objectif", height=120 + 90 * max(len(df), 1))


# --------------------------------------------------------------------------
# Budget
# --------------------------------------------------------------------------

NO_BUDGET_DATA = "Aucune donnée budgétaire"

# One look per budget series, used by every budget chart: a colour for the
# screen and a fill pattern (solid, hatched, dotted) for black-and-white prints.
_BUDGET_SERIES = {
    "requested_cents": (
        "Demandé",
        {"color": OKABE_ITO["sky"], "pattern": {"shape": "/", "fgcolor": "#1F1F1F", "size": 7}},
    ),
    "arbitrated_cents": ("Arbitré", {"color": OKABE_ITO["blue"]}),
    "spent_cents": (
        "Réalisé",
        {
            "color": OKABE_ITO["orange"],
            "pattern": {"shape": ".", "fgcolor": "#1F1F1F", "size": 6, "solidity": 0.4},
        },
    ),
}
_EURO_AXIS = {
    "ticksuffix": " €",
    "tickformat": ",.0f",
    "gridcolor": "#DDDDDD",
    "rangemode": "tozero",
}


def _euros(cents: pd.Series) -> list[float]:
    return [c / 100 for c in cents.fillna(0)]


def _euro_labels(cents: pd.Series) -> list[str]:
    return [format_eur(int(c)) for c in cents.fillna(0)]


def _no_budget_data(title: str) -> go.Figure:
    """An empty figure that says so, rather than blank axes."""
    fig = go.Figure()
    fig.add_annotation(
        text=NO_BUDGET_DATA,
        x=0.5,
        y=0.5,
        xref="paper",
        yref="paper",
        showarrow=False,
        font={"size": 16, "color": OKABE_ITO["grey"]},
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return _base_layout(fig, title=title, height=300)


def _budget_bars(
    frame: pd.DataFrame, *, columns: list[str], category: str, horizontal: bool, legend: bool = True
) -> list[go.Bar]:
    """One bar trace per budget series, amounts in euros, hover in French."""
    traces = []
    labels = frame[category].astype(str).tolist()
    for column in columns:
        name, marker = _BUDGET_SERIES[column]
        euros = _euros(frame[column])
        axis = "y" if horizontal else "x"
        traces.append(
            go.Bar(
                name=name,
                legendgroup=name,
                showlegend=legend,
                x=euros if horizontal else labels,
                y=labels if horizontal else euros,
                orientation="h" if horizontal else "v",
                marker={**marker, "line": {"color": "#1F1F1F", "width": 1}},
                customdata=_euro_labels(frame[column]),
                hovertemplate=f"%{{{axis}}}<br>{name} : %{{customdata}}<extra></extra>",
            )
        )
    return traces


def budget_per_year(df: pd.DataFrame, by_collectivity: bool = False) -> go.Figure:
    """Requested, arbitrated and spent amounts per year, as grouped bars in euros.

    ``df`` columns: ``year``, ``requested_cents``, ``arbitrated_cents``,
    ``spent_cents`` (and ``collectivity`` when ``by_collectivity``); several
    rows for one year (sections, collectivities) are added up. With
    ``by_collectivity``, one panel per collectivity, side by side on the same
    amount scale.
    """
    title = "Budget par année : demandé, arbitré, réalisé"
    if df is None or df.empty:
        return _no_budget_data(title)
    columns = list(_BUDGET_SERIES)
    keys = ["collectivity", "year"] if by_collectivity else ["year"]
    totals = df.groupby(keys, sort=False, as_index=False)[columns].sum(min_count=1)
    totals = totals.sort_values("year", kind="stable")
    panels = list(dict.fromkeys(df["collectivity"])) if by_collectivity else [None]
    fig = make_subplots(
        rows=1,
        cols=len(panels),
        shared_yaxes=True,
        horizontal_spacing=0.04,
        subplot_titles=[str(p) for p in panels] if by_collectivity else None,
    )
    for index, panel in enumerate(panels, start=1):
        frame = totals if panel is None else totals[totals["collectivity"] == panel]
        for trace in _budget_bars(
            frame, columns=columns, category="year", horizontal=False, legend=index == 1
        ):
            fig.add_trace(trace, row=1, col=index)
    fig.update_layout(barmode="group", bargap=0.2, bargroupgap=0.05)
    # Years are categories: a numeric axis would print them as « 2 018 ».
    fig.update_xaxes(type="category", title="Année")
    fig.update_yaxes(**_EURO_AXIS)
    fig.update_yaxes(title="Montant", row=1, col=1)
    fig = _base_layout(fig, title=title, height=450)
    if by_collectivity:  # lift the legend above the panels' titles
        fig.update_layout(legend_y=1.08, margin_t=100)
    return fig


def budget_per_objective(df: pd.DataFrame) -> go.Figure:
    """Arbitrated and spent amounts per objective over the whole period (horizontal bars).

    ``df`` columns: ``objective`` (label), ``arbitrated_cents``, ``spent_cents``.
    """
    title = "Crédits arbitrés et réalisés par objectif, sur toute la période"
    if df is None or df.empty:
        return _no_budget_data(title)
    columns = ["arbitrated_cents", "spent_cents"]
    totals = df.groupby("objective", sort=False, as_index=False)[columns].sum(min_count=1)
    fig = go.Figure(_budget_bars(totals, columns=columns, category="objective", horizontal=True))
    fig.update_layout(barmode="group", bargap=0.25)
    fig.update_xaxes(title="Montant", **_EURO_AXIS)
    fig.update_yaxes(autorange="reversed", title=None, automargin=True)
    return _base_layout(fig, title=title, height=160 + 90 * len(totals))


def execution_vs_progress(df: pd.DataFrame) -> go.Figure:
    """Share of arbitrated money spent against progress, one point per action.

    ``df`` columns: ``code``, ``title``, ``execution`` (spent as % of
    arbitrated, may exceed 100; rows without it are left out) and
    ``progress`` (0-100). Points above the diagonal spend faster than they
    progress.
    """
    title = "Dépense et avancement des actions"
    frame = df.dropna(subset=["execution", "progress"]) if df is not None and not df.empty else df
    if frame is None or frame.empty:
        return _no_budget_data(title)
    # Progress stops at 100 %; spending may overshoot its arbitration.
    top = max(105.0, float(frame["execution"].max()) + 10)
    fig = go.Figure()
    fig.add_scatter(
        name="dépense = avancement",
        x=[0, 100],
        y=[0, 100],
        mode="lines",
        line={"color": OKABE_ITO["grey"], "dash": "dash", "width": 2},
        hoverinfo="skip",
    )
    fig.add_scatter(
        name="Action",
        x=frame["progress"].tolist(),
        y=frame["execution"].tolist(),
        mode="markers+text",
        text=frame["code"].astype(str).tolist(),
        textposition="top center",
        cliponaxis=False,  # a point at 0 % stays whole
        marker={
            "color": OKABE_ITO["vermillion"],
            "symbol": "diamond",
            "size": 11,
            "line": {"color": "#1F1F1F", "width": 1},
        },
        customdata=[
            [t, format_percent(p), format_percent(e, 1)]
            for t, p, e in zip(frame["title"], frame["progress"], frame["execution"], strict=True)
        ],
        hovertemplate=(
            "<b>%{text}</b> %{customdata[0]}<br>Avancement : %{customdata[1]}"
            "<br>Crédits arbitrés dépensés : %{customdata[2]}<extra></extra>"
        ),
    )
    fig.update_xaxes(title="Avancement (%)", range=[0, 105], ticksuffix=" %", gridcolor="#DDDDDD")
    fig.update_yaxes(
        title="Crédits arbitrés dépensés (%)", range=[0, top], ticksuffix=" %", gridcolor="#DDDDDD"
    )
    return _base_layout(fig, title=title, height=520)


# --------------------------------------------------------------------------
# Indicators and surveys
# --------------------------------------------------------------------------


def format_value(value: float | None, unit: str) -> str:
    """An indicator's value with its unit: ``45,3 %``, ``1 250 visites``."""
    if value is None or pd.isna(value):
        return ""
    if unit.strip() == "%":
        return format_percent(value, 1)
    decimals = 0 if float(value).is_integer() else 1
    return f"{format_number(value, decimals)}\u00a0{unit}".strip()


def _error_bars(values: pd.Series, low: pd.Series, high: pd.Series) -> dict:
    return {
        "type": "data",
        "symmetric": False,
        "array": (high - values).clip(lower=0).fillna(0).tolist(),
        "arrayminus": (values - low).clip(lower=0).fillna(0).tolist(),
        "color": "#1F1F1F",
        "thickness": 1.5,
        "width": 6,
    }


def indicator_timeline(
    measurements: pd.DataFrame,
    path: pd.DataFrame,
    references: pd.DataFrame,
    *,
    title: str,
    unit: str,
) -> go.Figure:
    """An indicator over time: measurements with their 95 % intervals, the path
    from the baseline to the targets, and national reference series.

    ``measurements``: ``date``, ``valeur``, ``basse``, ``haute``, ``source``;
    ``path``: ``date``, ``valeur``, ``etape`` (Valeur de référence, Cible…);
    ``references``: ``date``, ``valeur``, ``source``.
    """
    fig = go.Figure()
    suffix = " %" if unit.strip() == "%" else ""
    if not path.empty:
        fig.add_scatter(
            name="Trajectoire vers la cible",
            x=path["date"],
            y=path["valeur"],
            mode="lines+markers",
            line={"color": OKABE_ITO["orange"], "dash": "dash", "width": 2},
            marker={"symbol": "diamond-open", "size": 11, "color": OKABE_ITO["orange"]},
            customdata=[
                [step, format_value(v, unit)]
                for step, v in zip(path["etape"], path["valeur"], strict=True)
            ],
            hovertemplate="%{customdata[0]} : %{customdata[1]}<br>%{x|%d/%m/%Y}<extra></extra>",
        )
    palette = [OKABE_ITO["purple"], OKABE_ITO["green"], OKABE_ITO["grey"], OKABE_ITO["sky"]]
    # One series per source, the editions of a survey joined (« …, édition 2019 »).
    series = references["source"].map(lambda s: _EDITION.sub("", s).strip())
    for n, (source, group) in enumerate(references.groupby(series, sort=False)):
        group = group.sort_values("date")
        fig.add_scatter(
            name=f"Référence nationale : {source}",
            x=group["date"],
            y=group["valeur"],
            mode="lines+markers",
            line={"color": palette[n % len(palette)], "dash": "dot", "width": 2},
            marker={"symbol": "square", "size": 7},
            customdata=[
                [format_value(v, unit), s]
                for v, s in zip(group["valeur"], group["source"], strict=True)
            ],
            hovertemplate="%{customdata[1]}<br>%{x|%d/%m/%Y} : %{customdata[0]}<extra></extra>",
        )
    if not measurements.empty:
        has_interval = measurements["basse"].notna() & measurements["haute"].notna()
        fig.add_scatter(
            name="Mesures locales (intervalle de confiance à 95 %)"
            if has_interval.any()
            else "Mesures locales",
            x=measurements["date"],
            y=measurements["valeur"],
            mode="lines+markers",
            line={"color": OKABE_ITO["blue"], "width": 3},
            marker={"symbol": "circle", "size": 10, "color": OKABE_ITO["blue"]},
            error_y=_error_bars(
                measurements["valeur"], measurements["basse"], measurements["haute"]
            )
            if has_interval.any()
            else None,
            customdata=[
                [format_value(v, unit), s, _interval_text(lo, hi, unit)]
                for v, s, lo, hi in zip(
                    measurements["valeur"],
                    measurements["source"],
                    measurements["basse"],
                    measurements["haute"],
                    strict=True,
                )
            ],
            hovertemplate="%{x|%d/%m/%Y} : %{customdata[0]}%{customdata[2]}"
            "<br>%{customdata[1]}<extra></extra>",
        )
    if measurements.empty and path.empty and references.empty:
        fig.add_annotation(
            text="Aucune mesure",
            x=0.5,
            y=0.5,
            xref="paper",
            yref="paper",
            showarrow=False,
            font={"size": 16, "color": OKABE_ITO["grey"]},
        )
    fig.update_yaxes(
        ticksuffix=suffix, gridcolor="#DDDDDD", rangemode="tozero", title=None, tickformat=",~r"
    )
    if suffix:
        fig.update_yaxes(range=[0, 105])
    fig.update_xaxes(gridcolor="#EEEEEE", title=None)
    fig = _base_layout(fig, title=title, height=480)
    fig.update_layout(
        legend={"orientation": "h", "y": -0.1, "yanchor": "top", "x": 0, "xanchor": "left"},
        margin={"b": 120},
    )
    return fig


_EDITION = re.compile(r",?\s*[ée]dition\s+\d{4}\s*$", re.IGNORECASE)


def _interval_text(low: float | None, high: float | None, unit: str) -> str:
    if low is None or high is None or pd.isna(low) or pd.isna(high):
        return ""
    return f" (IC 95 % : {format_value(low, unit)} – {format_value(high, unit)})"


def wave_comparison(df: pd.DataFrame, *, first: str, second: str) -> go.Figure:
    """Two waves side by side for each indicator (a dumbbell with intervals).

    ``df``: ``indicateur``, ``avant``, ``avant_basse``, ``avant_haute``,
    ``apres``, ``apres_basse``, ``apres_haute``, ``significatif`` (bool).
    """
    labels = [
        f"{_short(label)}<br><i>{'écart significatif' if sig else 'écart non significatif'}</i>"
        for label, sig in zip(df["indicateur"], df["significatif"], strict=True)
    ]
    fig = go.Figure()
    for a, b, label in zip(df["avant"], df["apres"], labels, strict=True):
        fig.add_scatter(
            x=[a, b],
            y=[label, label],
            mode="lines",
            line={"color": "#BBBBBB", "width": 6},
            showlegend=False,
            hoverinfo="skip",
        )
    for column, name, color, symbol in (
        ("avant", first, OKABE_ITO["sky"], "circle-open"),
        ("apres", second, OKABE_ITO["blue"], "circle"),
    ):
        fig.add_scatter(
            name=name,
            x=df[column],
            y=labels,
            mode="markers",
            marker={"color": color, "size": 14, "symbol": symbol, "line": {"width": 3}},
            error_x={
                **_error_bars(df[column], df[f"{column}_basse"], df[f"{column}_haute"]),
                "color": color,
            },
            customdata=[format_percent(v, 1) for v in df[column]],
            hovertemplate=f"{name}<br>%{{y}} : %{{customdata}}<extra></extra>",
        )
    fig.update_xaxes(range=[0, 100], ticksuffix=" %", gridcolor="#DDDDDD", title=None)
    fig.update_yaxes(autorange="reversed", title=None)
    fig = _base_layout(
        fig,
        title=f"Évolution entre « {first} » et « {second} »",
        height=200 + 70 * max(len(df), 1),
    )
    fig.update_layout(
        legend={"orientation": "h", "y": -0.08, "yanchor": "top", "x": 0, "xanchor": "left"}
    )
    return fig


def _short(text: str, limit: int = 45) -> str:
    """A long label cut at a word, for an axis."""
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0] + "…"


def breakdown_bars(df: pd.DataFrame, *, title: str, column: str) -> go.Figure:
    """An indicator by group, with the 95 % interval on each bar; groups of fewer
    than 30 respondents are hatched and labelled « non fiable ».

    ``df``: ``groupe``, ``valeur``, ``basse``, ``haute``, ``repondants``, ``fiable``.
    """
    labels = [
        f"{g} (n = {format_number(n)}{', non fiable' if not ok else ''})"
        for g, n, ok in zip(df["groupe"], df["repondants"], df["fiable"], strict=True)
    ]
    fig = go.Figure()
    for reliable, name, marker in (
        (True, "Groupe d'au moins 30 répondants", {"color": OKABE_ITO["blue"]}),
        (
            False,
            "Moins de 30 répondants : non fiable",
            {
                "color": "white",
                "line": {"color": OKABE_ITO["grey"], "width": 2},
                "pattern": {"shape": "x", "fgcolor": OKABE_ITO["grey"], "size": 7},
            },
        ),
    ):
        mask = df["fiable"] == reliable
        if not mask.any():
            continue
        part = df[mask]
        fig.add_bar(
            name=name,
            y=[label for label, m in zip(labels, mask, strict=True) if m],
            x=part["valeur"],
            orientation="h",
            marker=marker,
            error_x=_error_bars(part["valeur"], part["basse"], part["haute"]),
            text=[format_percent(v, 1) for v in part["valeur"]],
            textposition="inside",
            insidetextanchor="start",
            customdata=[
                _interval_text(lo, hi, "%")
                for lo, hi in zip(part["basse"], part["haute"], strict=True)
            ],
            hovertemplate="%{y}<br>%{text}%{customdata}<extra></extra>",
        )
    fig.update_layout(barmode="overlay")
    fig.update_xaxes(range=[0, 100], ticksuffix=" %", gridcolor="#DDDDDD", title=None)
    fig.update_yaxes(autorange="reversed", title=None, categoryorder="array", categoryarray=labels)
    return _base_layout(
        fig, title=f"{title}, selon « {column} »", height=140 + 34 * max(len(df), 1)
    )


# --------------------------------------------------------------------------
# Overview
# --------------------------------------------------------------------------

# One look per health: a colour-blind-safe colour, a fill pattern (print) and
# the symbol that the label carries (colour is never the only cue).
HEALTH_LOOK = {
    "dans_les_temps": (OKABE_ITO["green"], ""),
    "en_retard": (OKABE_ITO["orange"], "/"),
    "a_risque": (OKABE_ITO["vermillion"], "x"),
    "terminee": (OKABE_ITO["blue"], "."),
    "arretee": (OKABE_ITO["grey"], "-"),
}


TREE_LABELLED_ACTIONS = 100


def plan_tree(df: pd.DataFrame, *, by_budget: bool) -> go.Figure:
    """Stakes → objectives → actions as a treemap coloured by health.

    ``df``: ``id``, ``parent``, ``label``, ``value`` (1 per action, or its
    arbitrated euros), ``health`` (a Health value, or "" for a group), ``hover``.
    """
    title = "Le plan : enjeux, objectifs et actions" + (
        " (taille : crédits arbitrés)" if by_budget else ""
    )
    if df is None or df.empty or float(df["value"].sum()) <= 0:
        fig = go.Figure()
        fig.add_annotation(
            text="Aucune action" if not by_budget else "Aucun crédit arbitré",
            x=0.5,
            y=0.5,
            xref="paper",
            yref="paper",
            showarrow=False,
            font={"size": 16, "color": OKABE_ITO["grey"]},
        )
        fig.update_xaxes(visible=False)
        fig.update_yaxes(visible=False)
        return _base_layout(fig, title=title, height=300)
    colours = [HEALTH_LOOK[h][0] if h else "#F2F2F2" for h in df["health"]]
    # Beyond TREE_LABELLED_ACTIONS actions the tiles are too small to read a label, and
    # fitting one label per tile is most of what the browser spends on the chart: the
    # actions are then named on hover (and in the table below), their groups still are.
    leaves = int((df["health"] != "").sum())
    texts = ["%{label}" if not h or leaves <= TREE_LABELLED_ACTIONS else "" for h in df["health"]]
    # Text columns as lists: plotly keeps a column of text as an array of objects, which
    # its JSON encoder then converts item by item on every display (2 ms for the 19
    # actions of the example plan, 12 ms for 500); a list is written as it is.
    fig = go.Figure(
        go.Treemap(
            ids=df["id"].tolist(),
            parents=df["parent"].tolist(),
            labels=df["label"].tolist(),
            values=df["value"],
            branchvalues="total",
            marker={"colors": colours, "line": {"color": "white", "width": 2}},
            customdata=df["hover"].tolist(),
            hovertemplate="%{customdata}<extra></extra>",
            texttemplate=texts,
            textfont={"size": 13},
            tiling={"pad": 3},
            root={"color": "white"},
            pathbar={"visible": False},
        )
    )
    fig = _base_layout(fig, title=title, height=520)
    fig.update_layout(margin={"l": 0, "r": 0, "t": 50, "b": 0}, uniformtext={"minsize": 11})
    return fig


def _time_ticks(start: pd.Timestamp, end: pd.Timestamp) -> tuple[list, list[str]]:
    """Ticks for a date axis, written in French (years, or months for short spans)."""
    from babel.dates import format_date as babel_date  # noqa: PLC0415

    span_days = (end - start).days
    if span_days > 4 * 365:
        values = pd.date_range(f"{start.year}-01-01", f"{end.year + 1}-01-01", freq="YS")
        return list(values), [str(v.year) for v in values]
    step = "6MS" if span_days > 2 * 365 else ("3MS" if span_days > 365 else "MS")
    values = pd.date_range(start.replace(day=1), end + pd.Timedelta(days=31), freq=step)
    return list(values), [babel_date(v.date(), format="MMM y", locale="fr_FR") for v in values]


def actions_timeline(
    actions: pd.DataFrame, milestones: pd.DataFrame, *, today: object
) -> go.Figure:
    """A Gantt chart: one bar per action from start to planned end, coloured and
    patterned by health, milestones as diamonds, and a « aujourd'hui » line.

    ``actions``: ``id``, ``code``, ``label``, ``start``, ``end``, ``health``,
    ``health_label``, ``dates`` (text); ``milestones``: ``code``, ``due``,
    ``title``, ``done`` (bool), ``overdue`` (bool), ``when`` (text).
    """
    title = "Calendrier des actions"
    frame = actions.dropna(subset=["start", "end"]) if not actions.empty else actions
    if frame.empty:
        fig = _no_budget_data(title)
        fig.layout.annotations[0].text = "Aucune action datée"
        return fig
    fig = go.Figure()
    start = pd.to_datetime(frame["start"])
    end = pd.to_datetime(frame["end"])
    for health, (colour, pattern) in HEALTH_LOOK.items():
        mask = frame["health"] == health
        if not mask.any():
            continue
        part = frame[mask]
        fig.add_bar(
            name=part["health_label"].iloc[0],
            y=part["label"],
            base=start[mask].dt.strftime("%Y-%m-%d"),
            x=(end[mask] - start[mask]).dt.total_seconds() * 1000 + 86_400_000,
            orientation="h",
            marker={
                "color": colour,
                "line": {"color": "#1F1F1F", "width": 1},
                "pattern": {
                    "shape": pattern,
                    "fgcolor": "white",
                    "size": 6,
                    "fillmode": "overlay",
                }
                if pattern
                else None,
            },
            customdata=list(zip(part["id"], part["dates"], part["health_label"], strict=True)),
            hovertemplate="%{y}<br>%{customdata[1]}<br>%{customdata[2]}<extra></extra>",
        )
    labels = dict(zip(frame["code"], frame["label"], strict=True))
    if not milestones.empty:
        shown = milestones[milestones["code"].isin(labels)]
        for done, name, symbol, colour in (
            (True, "Jalon réalisé", "diamond", "#1F1F1F"),
            (False, "Jalon à venir ou en retard", "diamond-open", "#1F1F1F"),
        ):
            part = shown[shown["done"] == done]
            if part.empty:
                continue
            fig.add_scatter(
                name=name,
                x=pd.to_datetime(part["due"]).dt.strftime("%Y-%m-%d"),
                y=[labels[c] for c in part["code"]],
                mode="markers",
                marker={"symbol": symbol, "size": 10, "color": colour, "line": {"width": 2}},
                customdata=list(zip(part["title"], part["when"], strict=True)),
                hovertemplate="%{customdata[0]}<br>%{customdata[1]}<extra></extra>",
            )
    today_text = pd.Timestamp(today).strftime("%Y-%m-%d")
    fig.add_shape(
        type="line",
        x0=today_text,
        x1=today_text,
        y0=0,
        y1=1,
        yref="paper",
        line={"color": OKABE_ITO["vermillion"], "width": 2, "dash": "dash"},
    )
    fig.add_annotation(
        x=today_text,
        y=1,
        yref="paper",
        text="aujourd'hui",
        showarrow=False,
        yanchor="bottom",
        font={"color": OKABE_ITO["vermillion"]},
    )
    first, last = min(start.min(), pd.Timestamp(today)), max(end.max(), pd.Timestamp(today))
    values, texts = _time_ticks(first, last)
    fig.update_xaxes(type="date", tickvals=values, ticktext=texts, gridcolor="#DDDDDD", title=None)
    fig.update_yaxes(autorange="reversed", title=None, automargin=True)
    fig.update_layout(barmode="overlay", bargap=0.3)
    fig = _base_layout(fig, title=title, height=200 + 26 * len(frame))
    fig.update_layout(
        legend={
            "orientation": "h",
            "y": 0,
            "yref": "container",
            "yanchor": "bottom",
            "x": 0,
            "xanchor": "left",
        },
        margin={"b": 110},
    )
    return fig


def indicator_multiples(series: list[dict], *, columns: int = 2) -> go.Figure:
    """Indicators as small multiples: measurements against the target path.

    ``series``: one dict per indicator with ``title`` (code and status, in
    words), ``unit``, ``measures`` (DataFrame ``date``, ``valeur``) and ``path``
    (DataFrame ``date``, ``valeur``).
    """
    title = "Indicateurs : mesures et trajectoire vers la cible"
    if not series:
        fig = _no_budget_data(title)
        fig.layout.annotations[0].text = "Aucun indicateur"
        return fig
    rows = -(-len(series) // columns)
    fig = make_subplots(
        rows=rows,
        cols=columns,
        subplot_titles=[s["title"] for s in series],
        vertical_spacing=0.45 / rows if rows > 1 else 0.1,
        horizontal_spacing=0.16,
    )
    for n, s in enumerate(series):
        row, col = n // columns + 1, n % columns + 1
        path, measures = s["path"], s["measures"]
        if not path.empty:
            fig.add_scatter(
                x=path["date"],
                y=path["valeur"],
                mode="lines+markers",
                line={"color": OKABE_ITO["orange"], "dash": "dash", "width": 2},
                marker={"symbol": "diamond-open", "size": 8},
                name="Trajectoire vers la cible",
                legendgroup="path",
                showlegend=n == 0,
                hovertemplate="Trajectoire : %{y}<extra></extra>",
                row=row,
                col=col,
            )
        if not measures.empty:
            fig.add_scatter(
                x=measures["date"],
                y=measures["valeur"],
                mode="lines+markers",
                line={"color": OKABE_ITO["blue"], "width": 3},
                marker={"size": 7},
                name="Mesures",
                legendgroup="measures",
                showlegend=n == 0,
                customdata=[format_value(v, s["unit"]) for v in measures["valeur"]],
                hovertemplate="%{x|%d/%m/%Y} : %{customdata}<extra></extra>",
                row=row,
                col=col,
            )
        if s["unit"].strip() == "%":
            fig.update_yaxes(range=[0, 100], ticksuffix=" %", row=row, col=col)
        fig.update_xaxes(tickformat="%Y", row=row, col=col)
    fig.update_yaxes(gridcolor="#DDDDDD", tickformat=",~r")
    fig.update_annotations(font={"size": 12})
    fig = _base_layout(fig, title=title, height=160 + 230 * rows)
    fig.update_layout(
        legend={
            "orientation": "h",
            "y": 0,
            "yref": "container",
            "yanchor": "bottom",
            "x": 0,
            "xanchor": "left",
        },
        margin={"t": 80, "b": 90},
    )
    return fig


def changes_summary(df: pd.DataFrame) -> go.Figure:
    """How many things changed since a committee, by kind (horizontal bars).

    ``df``: ``quoi`` (kind, in French), ``nombre``.
    """
    fig = go.Figure(
        go.Bar(
            y=df["quoi"].tolist(),
            x=df["nombre"].tolist(),
            orientation="h",
            marker={"color": OKABE_ITO["blue"], "line": {"color": "#1F1F1F", "width": 1}},
            text=[format_number(v) for v in df["nombre"]],
            textposition="outside",
            cliponaxis=False,
            hovertemplate="%{y} : %{x}<extra></extra>",
        )
    )
    fig.update_xaxes(title=None, gridcolor="#DDDDDD", rangemode="tozero", tickformat=",d")
    if df.empty or int(df["nombre"].max()) <= 10:
        fig.update_xaxes(dtick=1)  # whole numbers only
    fig.update_yaxes(autorange="reversed", title=None, automargin=True)
    return _base_layout(fig, title="Changements depuis le comité", height=120 + 40 * len(df))
