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
    from tracker.models import Role
    from tracker.ui import auth, context
    from tracker.ui.pages import account, plan, settings, users

    st.set_page_config(page_title=strings.APP_TITLE, page_icon="📊", layout="wide")
    context.engine()  # upgrade the schema and load the example plan on first run

    plan_page = st.Page(plan.render, title="Le plan", icon="🗂️", url_path="plan", default=True)
    login_page = st.Page(auth.login_page, title="Connexion", icon="🔑", url_path="connexion")
    user = auth.current_user()
    if user is None:
        pages = [plan_page, login_page] if auth.public_view_enabled() else [login_page]
        if len(pages) == 1:
            pages = [st.Page(auth.login_page, title="Connexion", icon="🔑", default=True)]
    else:
        pages = {
            "Le plan": [plan_page],
            "Compte": [
                st.Page(account.render, title="Mon compte", icon="👤", url_path="mon-compte")
            ],
        }
        if Role(user.role) == Role.ADMIN:
            pages["Administration"] = [
                st.Page(users.render, title="Utilisateurs", icon="👥", url_path="utilisateurs"),
                st.Page(settings.render, title="Réglages", icon="⚙️", url_path="reglages"),
            ]
        auth.user_badge(user)
    navigation = st.navigation(pages)
    st.sidebar.caption(f"{strings.APP_TITLE} · {strings.APP_SUBTITLE}")
    navigation.run()
