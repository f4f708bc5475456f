"""« Réglages » (admins): public read-only view and upload limit."""

from __future__ import annotations

import streamlit as st

from tracker import db
from tracker.errors import TrackerError
from tracker.services.app_settings import update_settings
from tracker.ui import auth, context, data


def render() -> None:
    user = auth.current_user()
    st.title("Réglages")
    current = data.app_settings()
    with st.form("settings"):
        public_view = st.toggle(
            "Consultation publique du plan (sans compte, en lecture seule)",
            value=current.public_view,
            help="Désactivée par défaut. Les visiteurs voient la page « Le plan », rien d'autre.",
        )
        limit = st.number_input(
            "Taille maximale d'un fichier envoyé (Mo)",
            min_value=1,
            max_value=200,
            value=current.upload_limit_mb,
            step=1,
        )
        names = st.toggle(
            "Publier les noms des pilotes dans les données ouvertes",
            value=current.open_data_pilot_names,
            help="Désactivé par défaut : les données ouvertes gardent la fonction et le service "
            "du pilote, jamais son nom, sauf si vous l'autorisez ici.",
        )
        submitted = st.form_submit_button("Enregistrer", type="primary")
    if submitted:
        try:
            with db.session_scope(context.engine(), write=True) as session:
                update_settings(
                    session,
                    user,
                    public_view=public_view,
                    upload_limit_mb=int(limit),
                    open_data_pilot_names=names,
                )
        except TrackerError as exc:
            st.error(str(exc))
        else:
            st.success("Réglages enregistrés.")
