"""Charts: pure functions, DataFrame in, plotly Figure out.

French formats (decimal comma, space as thousands separator), a colour-blind
safe palette (Okabe-Ito), and patterns or text beside colour so that figures
stay readable in black and white. Charts never query the database.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from tracker.formats import format_percent

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
    labels = df["objectif"].tolist()
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
    fig.update_xaxes(
        range=[0, 115],
        ticksuffix=" %",
        tickvals=[0, 25, 50, 75, 100],
        gridcolor="#DDDDDD",
        title=None,
    )
    fig.update_yaxes(autorange="reversed", title=None)
    return _base_layout(fig, title="Avancement par objectif", height=120 + 90 * max(len(df), 1))
