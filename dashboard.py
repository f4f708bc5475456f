"""Entry point: page configuration and navigation. Run with ``streamlit run dashboard.py``."""

import streamlit as st

from tracker import strings
from tracker.ui import context
from tracker.ui.pages import plan

st.set_page_config(page_title=strings.APP_TITLE, page_icon="📊", layout="wide")
context.engine()  # upgrade the schema and load the example plan on first run

navigation = st.navigation(
    [
        st.Page(plan.render, title="Le plan", icon="🗂️", url_path="plan", default=True),
    ]
)
st.sidebar.caption(f"{strings.APP_TITLE} · {strings.APP_SUBTITLE}")
navigation.run()
