"""« Réglages » (admins): public read-only view, upload limit, pilots' names in open data."""

from __future__ import annotations

import streamlit as st

from tracker import db
from tracker.errors import TrackerError
from tracker.models import User
from tracker.services.app_settings import AppSettings, update_settings
from tracker.ui import auth, context, data
from tracker.ui.components import lazy_section, saved_message

_SAVED = "settings_saved"


def _summary(current: AppSettings) -> str:
    """The settings in force, as a list a reader takes in at a glance (Markdown)."""
    return "\n".join(
        [
            "- Consultation publique du plan (sans compte, en lecture seule) : "
            + ("**activée**" if current.public_view else "**désactivée**"),
            f"- Taille maximale d'un fichier envoyé : **{current.upload_limit_mb} Mo**",
            "- Noms des pilotes dans les données ouvertes : "
            + ("**publiés**" if current.open_data_pilot_names else "**non publiés**"),
        ]
    )


def _form(user: User, current: AppSettings) -> None:
    with st.form("settings"):
        public_view = st.toggle(
            "Consultation publique du plan (sans compte, en lecture seule)",
            value=current.public_view,
            help="Désactivée par défaut. Les visiteurs voient la vue d'ensemble, le plan et les "
            "fiches actions, sans rien pouvoir modifier.",
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
    if not submitted:
        return
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
        return
    st.session_state[_SAVED] = "Réglages enregistrés."
    st.rerun()  # the settings in force, above the form, show the change


def render() -> None:
    user = auth.current_user()
    st.title("Réglages")
    current = data.app_settings()
    saved_message(_SAVED)
    st.markdown(_summary(current))
    # The form is built only once opened: most visits read the settings in force.
    if (box := lazy_section("Modifier les réglages", "settings_form_open")) is not None:
        with box:
            _form(user, current)
