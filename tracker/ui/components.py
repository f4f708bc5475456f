"""Small widgets shared by the pages."""

from __future__ import annotations

import re

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from tracker import strings

_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|>~<$:])")


def md_escape(text: str) -> str:
    """Text escaped for Markdown (no formatting, no HTML).

    Streamlit's Markdown still turns "--" into a dash, so text typed by users
    is shown with :func:`plain` instead; this is for short labels only.
    """
    return _MARKDOWN_SPECIALS.sub(r"\\\1", text)


def plain(text: str) -> None:
    """Text typed by a user, shown exactly as typed: never Markdown, never HTML."""
    st.text(text)


def example_banner(is_example: bool) -> None:
    """The visible warning that the plan shown is an illustrative example."""
    if is_example:
        st.warning(f"**{strings.EXAMPLE_BANNER}**. {strings.EXAMPLE_BANNER_DETAIL}", icon="⚠️")


def saved_message(key: str) -> None:
    """The message a page left before its rerun (« … enregistré »), shown once.

    It sits in a slot that is there on every run, so whether it shows or not never
    shifts the elements below (an expander would otherwise close on the next rerun).
    """
    slot = st.empty()
    text = st.session_state.pop(key, None)
    if text:
        slot.success(text)


def chart_with_table(fig: go.Figure, table: pd.DataFrame, *, key: str, alt: str) -> None:
    """A chart, then the same figures as a table in a collapsible section (accessibility)."""
    st.plotly_chart(fig, key=key, alt=alt, config={"displaylogo": False})
    with st.expander("Voir les données du graphique"):
        st.dataframe(table, hide_index=True, key=f"{key}_table")
