"""Entry point: page configuration, who is logged in, and the pages their role may use.

``streamlit run dashboard.py`` finds the ``app`` below and serves the app with
its extra HTTP routes (the session cookie, tracker/ui/server.py); the same
file is then run as the page script for every browser session.
"""

import streamlit as st

if __name__ != "__main__":  # imported by the server, not run as the page script
    from tracker.ui.server import routes

    app = st.App("dashboard.py", routes=routes())
else:
    from tracker import strings
    from tracker.ui import auth, context, navigation

    st.set_page_config(page_title=strings.APP_TITLE, page_icon="📊", layout="wide")
    context.engine()  # upgrade the schema and load the example plan on first run
    context.start_run()

    user = auth.current_user()
    pages = navigation.pages_for(user, public_view=user is None and auth.public_view_enabled())
    if user is not None:
        auth.user_badge(user)
    page = st.navigation(pages)
    st.sidebar.caption(f"{strings.APP_TITLE} · {strings.APP_SUBTITLE}")
    page.run()
