"""The baseline page of the browser benchmarks: one plotly bar chart and one 19-row table.

streamlit run benchmarks/minimal_app.py
"""

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

st.set_page_config(page_title="Référence", layout="wide")
st.title("Page minimale")
frame = pd.DataFrame({"Code": [f"A{n}" for n in range(19)], "Avancement": range(0, 95, 5)})
st.plotly_chart(go.Figure(go.Bar(x=frame["Code"], y=frame["Avancement"])))
st.dataframe(frame, hide_index=True)
