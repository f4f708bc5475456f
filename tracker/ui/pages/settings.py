"""« Réglages » (admins): public read-only view, upload limit, pilots' names in open data."""

from __future__ import annotations

import streamlit as st

from tracker import db
from tracker.errors import TrackerError
from tracker.models import User
from tracker.services.app_settings import AppSettings, update_settings
from tracker.ui import auth, context, data
from tracker.ui.components import forget_opened, lazy_section, opened_on, saved_message

_SAVED = "settings_saved"
# The settings as the form showed them when it was opened (kept until it is saved or
# folded): saving checks nobody changed them meanwhile (update_settings(expected=…)).
_BASE = "settings_base"
_FORM_KEYS = ("settings_public_view", "settings_limit", "settings_names")


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


def _forget_form() -> None:
    forget_opened(_BASE, lambda _owner: _FORM_KEYS)


def _form(user: User, current: AppSettings) -> None:
    base = opened_on(_BASE, 0, current, _FORM_KEYS)  # one set of settings: owner 0
    if base != current:
        st.warning(
            "Les réglages ont été modifiés par quelqu'un d'autre depuis que vous avez ouvert ce "
            "formulaire : les valeurs en vigueur sont rappelées au-dessus. Enregistrer vos "
            "changements sera refusé ; repliez puis rouvrez la section pour repartir des "
            "réglages en vigueur."
        )
    with st.form("settings"):
        public_view = st.toggle(
            "Consultation publique du plan (sans compte, en lecture seule)",
            value=base.public_view,
            key=_FORM_KEYS[0],
            help="Désactivée par défaut. Les visiteurs voient la vue d'ensemble, le plan et les "
            "fiches actions, sans rien pouvoir modifier.",
        )
        limit = st.number_input(
            "Taille maximale d'un fichier envoyé (Mo)",
            min_value=1,
            max_value=200,
            value=base.upload_limit_mb,
            step=1,
            key=_FORM_KEYS[1],
        )
        names = st.toggle(
            "Publier les noms des pilotes dans les données ouvertes",
            value=base.open_data_pilot_names,
            key=_FORM_KEYS[2],
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
                expected=base,
            )
    except TrackerError as exc:
        st.error(str(exc))
        return
    _forget_form()
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
    else:
        _forget_form()  # opened again, the form starts from the settings in force
