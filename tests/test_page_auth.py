"""Page tests (AppTest): first run, logging in, navigation and controls per role."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.conftest import TEST_PASSWORD, add_user, session_token
from tests.pages import (
    actions_table,
    open_page,
    open_sections,
    page_titles,
    run_app,
    status_total,
)
from tracker import db, strings
from tracker.models import Action, AuditEntry, Role, User
from tracker.services import users
from tracker.services.app_settings import AppSettings, read_settings, update_settings
from tracker.services.users import system_actor

INDICATORS = ["Indicateurs", "Fiche indicateur", "Enquêtes"]
EVERYONE = [
    "Vue d'ensemble",
    "Le plan",
    "Comités de pilotage",
    "Import / export",
    "Actions",
    "Fiche action",
    "Budget",
    *INDICATORS,
    "Mon compte",
]
UPDATERS = [
    "Vue d'ensemble",
    "Le plan",
    "Comités de pilotage",
    "Import / export",
    "Actions",
    "Fiche action",
    "Budget",
    "Mise à jour groupée",
    *INDICATORS,
    "Mon compte",
]
ADMIN_PAGES = [*UPDATERS, "Utilisateurs", "Réglages"]
PUBLIC_PAGES = ["Vue d'ensemble", "Le plan", "Fiche action", "Connexion"]


def _login(at, login: str, password: str):
    inputs = {t.label: t for t in at.text_input}
    inputs["Identifiant"].input(login)
    inputs["Mot de passe"].input(password)
    next(b for b in at.button if b.label == "Se connecter").click()
    return run_app(at=at)


def test_first_run_offers_only_the_first_administrator_screen(app_engine):
    at = run_app()
    assert page_titles(at) == ["Connexion"]
    assert at.title[0].value == "Bienvenue"
    labels = [t.label for t in at.text_input]
    assert labels == ["Identifiant", "Nom affiché", "Mot de passe", "Confirmer le mot de passe"]
    assert not at.dataframe  # no plan data before anyone is logged in


def test_first_administrator_is_created_and_logged_in(app_engine):
    at = run_app()
    inputs = {t.label: t for t in at.text_input}
    inputs["Identifiant"].input("Chargee.Mission")
    inputs["Nom affiché"].input("Chargée de mission")
    inputs["Mot de passe"].input("un mot de passe long")
    inputs["Confirmer le mot de passe"].input("un mot de passe long")
    next(b for b in at.button if b.label == "Créer l'administrateur").click()
    at = run_app(at=at)
    assert any("Connexion réussie" in s.value for s in at.success)
    at = run_app(at=at)
    assert page_titles(at) == ADMIN_PAGES
    with db.session_scope(app_engine) as session:
        admin = session.exec(sa.select(User)).scalars().one()
    assert admin.login == "chargee.mission" and admin.role == "admin"


def test_first_administrator_password_must_be_long_and_confirmed(app_engine):
    at = run_app()
    inputs = {t.label: t for t in at.text_input}
    inputs["Identifiant"].input("admin")
    inputs["Mot de passe"].input("court")
    inputs["Confirmer le mot de passe"].input("court")
    next(b for b in at.button if b.label == "Créer l'administrateur").click()
    at = run_app(at=at)
    assert "au moins 12 caractères" in at.error[0].value
    with db.session_scope(app_engine) as session:
        assert not users.has_users(session)


def test_once_a_user_exists_the_first_run_screen_is_unreachable(app_engine):
    add_user(app_engine, "admin")
    at = run_app()
    assert page_titles(at) == ["Connexion"]
    assert at.title[0].value == "Connexion"
    assert [t.label for t in at.text_input] == ["Identifiant", "Mot de passe"]
    assert [b.label for b in at.button] == ["Se connecter"]


def test_wrong_login_and_wrong_password_give_the_same_message(app_engine):
    add_user(app_engine, "viewer", login="elu")
    wrong_password = _login(run_app(), "elu", "pas le bon mot de passe").error[0].value
    wrong_login = _login(run_app(), "inconnu", TEST_PASSWORD).error[0].value
    assert wrong_password == wrong_login == users.WRONG_CREDENTIALS


def test_logging_in_through_the_form_opens_the_overview(app_engine):
    add_user(app_engine, "editor", login="mission")
    at = _login(run_app(), "mission", TEST_PASSWORD)
    at = run_app(at=at)
    assert page_titles(at) == UPDATERS
    assert at.title[0].value == "Vue d'ensemble"
    assert status_total(at) == 19  # the example plan's actions, counted by status
    assert len(actions_table(open_page(at, "Le plan"))) == 19


@pytest.mark.parametrize(
    ("role", "pages"),
    [("admin", ADMIN_PAGES), ("editor", UPDATERS), ("pilot", UPDATERS), ("viewer", EVERYONE)],
)
def test_navigation_offers_the_pages_of_each_role(app_engine, role, pages):
    at = run_app(session_token(app_engine, add_user(app_engine, role)))
    assert page_titles(at) == pages


def test_viewer_sees_no_edit_control(app_engine):
    at = run_app(session_token(app_engine, add_user(app_engine, "viewer")))
    assert at.title[0].value == "Vue d'ensemble"
    assert [b.label for b in at.button] == ["Se déconnecter"]
    assert not at.text_input and not at.number_input  # only the overview's filters
    assert not at.get("data_editor") and not at.get("form")
    at = open_page(at, "Le plan")
    assert len(actions_table(at)) == 19
    assert [b.label for b in at.button] == ["Se déconnecter"]
    assert not at.text_input and not at.number_input and not at.selectbox
    assert not at.get("data_editor") and not at.get("form")


def test_disabled_account_is_logged_out_at_once(app_engine):
    viewer = add_user(app_engine, "viewer")
    at = run_app(session_token(app_engine, viewer))
    assert page_titles(at) == EVERYONE
    with db.session_scope(app_engine, write=True) as session:
        users.set_active(session, system_actor("tests"), viewer.id, False)
    at = run_app(at=at)
    assert page_titles(at) == ["Connexion"]


def test_logging_out_ends_the_session(app_engine):
    at = run_app(session_token(app_engine, add_user(app_engine, "viewer")))
    next(b for b in at.button if b.label == "Se déconnecter").click()
    at = run_app(at=at)
    assert any("déconnecté" in i.value for i in at.info)
    at = run_app(at=at)
    assert page_titles(at) == ["Connexion"]


def test_public_view_is_off_by_default_and_can_be_enabled(app_engine):
    add_user(app_engine, "admin")
    assert page_titles(run_app()) == ["Connexion"]
    with db.session_scope(app_engine, write=True) as session:
        update_settings(session, system_actor("tests"), public_view=True, upload_limit_mb=20)
    at = run_app()
    assert page_titles(at) == PUBLIC_PAGES
    assert at.title[0].value == "Vue d'ensemble"
    assert status_total(at) == 19
    assert not at.text_input and not at.get("form")  # read only
    at = open_page(at, "Le plan")
    assert len(actions_table(at)) == 19
    assert not at.text_input  # read only: the plan page has no input


def _button(at, label: str):
    return next(b for b in at.button if b.label == label)


def _forms(at) -> list[str]:
    return [f.proto.form.form_id for f in at.get("form")]


def _accounts(at):
    """The accounts table of the « Utilisateurs » page."""
    return next(df.value for df in at.dataframe if "Identifiant" in df.value.columns)


def _user(engine, login: str) -> User:
    with db.session_scope(engine) as session:
        return session.exec(sa.select(User).where(User.login == login)).scalar_one()


def _users_page(engine, *sections: str):
    """The administrator on « Utilisateurs », with these sections open."""
    admin = add_user(engine, "admin")
    at = open_page(run_app(session_token(engine, admin)), "Utilisateurs")
    return admin, open_sections(at, *sections) if sections else at


def test_users_page_shows_the_accounts_and_builds_its_forms_only_once_opened(app_engine):
    add_user(app_engine, "viewer", login="elu")
    _admin, at = _users_page(app_engine)
    assert list(_accounts(at)["Identifiant"]) == ["admin", "elu"]
    assert [e.label for e in at.expander] == ["Créer un compte", "Modifier un compte"]
    assert not at.get("form") and not at.text_input and not at.selectbox
    at = open_sections(at, "users_create_open")
    assert _forms(at) == ["create_user"]
    at = open_sections(at, "users_edit_open")
    assert set(_forms(at)) == {
        "create_user",
        "user_role",
        "user_active",
        "user_password",
    }


def test_admin_creates_an_account_from_the_users_page(app_engine):
    admin, at = _users_page(app_engine, "users_create_open")
    form = {t.label: t for t in at.text_input}
    form["Identifiant"].input("elu.referent")
    form["Nom affiché"].input("Élu référent")
    form["Mot de passe"].input("un mot de passe long")
    form["Confirmer le mot de passe"].input("un mot de passe long")
    _button(at, "Créer le compte").click()
    at = run_app(at=at)
    assert any("elu.referent" in s.value for s in at.success)
    assert "elu.referent" in list(_accounts(at)["Identifiant"])  # the table shows it at once
    assert at.session_state["users_create_open"]  # the section stays open
    with db.session_scope(app_engine) as session:
        created = session.exec(sa.select(User).where(User.login == "elu.referent")).scalar_one()
        logged = (
            session.exec(
                sa.select(AuditEntry).where(
                    AuditEntry.entity == "utilisateur", AuditEntry.entity_id == created.id
                )
            )
            .scalars()
            .all()
        )
    assert created.role == "viewer"  # the least privileged role is the default
    assert [e.user_login for e in logged] == [admin.login]


def test_an_account_with_a_login_already_used_is_refused_and_nothing_is_written(app_engine):
    add_user(app_engine, "viewer", login="elu")
    _admin, at = _users_page(app_engine, "users_create_open")
    form = {t.label: t for t in at.text_input}
    form["Identifiant"].input("ELU")
    form["Nom affiché"].input("Un autre élu")
    _button(at, "Créer le compte").click()
    at = run_app(at=at)
    assert at.error[0].value == "L'identifiant « elu » est déjà utilisé."
    assert not at.success
    with db.session_scope(app_engine) as session:
        assert session.exec(sa.select(sa.func.count()).select_from(User)).scalar_one() == 2


def test_admin_changes_a_role_and_the_table_shows_it(app_engine):
    viewer = add_user(app_engine, "viewer", login="elu")
    _admin, at = _users_page(app_engine, "users_edit_open")
    at.selectbox(key="edit_user").set_value(viewer.id)
    at = run_app(at=at)
    next(s for s in at.selectbox if s.label == "Rôle").set_value(Role.EDITOR)
    _button(at, "Changer le rôle").click()
    at = run_app(at=at)
    assert [s.value for s in at.success] == ["Rôle modifié."]
    assert (
        _accounts(at).set_index("Identifiant").loc["elu", "Rôle"]
        == strings.ROLE_LABELS[Role.EDITOR]
    )
    assert _user(app_engine, "elu").role == "editor"


def test_the_last_administrator_cannot_be_demoted_from_the_users_page(app_engine):
    admin, at = _users_page(app_engine, "users_edit_open")
    assert at.selectbox(key="edit_user").value == admin.id
    next(s for s in at.selectbox if s.label == "Rôle").set_value(Role.VIEWER)
    _button(at, "Changer le rôle").click()
    at = run_app(at=at)
    assert at.error[0].value == "Il doit rester au moins un administrateur actif."
    assert not at.success
    assert _user(app_engine, "admin").role == "admin"
    assert page_titles(at) == ADMIN_PAGES


def test_admin_disables_an_account_but_not_their_own(app_engine):
    viewer = add_user(app_engine, "viewer", login="elu")
    _admin, at = _users_page(app_engine, "users_edit_open")
    _button(at, "Désactiver le compte").click()  # the admin's own account, shown first
    at = run_app(at=at)
    assert at.error[0].value == "Vous ne pouvez pas désactiver votre propre compte."
    assert _user(app_engine, "admin").active
    at.selectbox(key="edit_user").set_value(viewer.id)
    at = run_app(at=at)
    _button(at, "Désactiver le compte").click()
    at = run_app(at=at)
    assert [s.value for s in at.success] == ["Compte désactivé : ses sessions sont fermées."]
    assert _accounts(at).set_index("Identifiant").loc["elu", "Actif"] == "Non"
    assert not _user(app_engine, "elu").active


def test_accounts_table_shows_a_password_given_to_a_single_sign_on_account(app_engine):
    """The table is read once per data revision: resetting the password of an account
    that only signed in with the collectivity's account must show on the next run."""
    with db.session_scope(app_engine, write=True) as session:
        sso = users.create_user(
            session, system_actor("tests"), login="dsi", role="viewer", email="dsi@cahors.fr"
        )
    _admin, at = _users_page(app_engine, "users_edit_open")
    column = "Connexion"
    assert _accounts(at).set_index("Identifiant").loc["dsi", column] == "Compte de la collectivité"
    at.selectbox(key="edit_user").set_value(sso.id)
    at = run_app(at=at)
    form = {t.label: t for t in at.text_input}
    form["Nouveau mot de passe"].input("un nouveau mot de passe")
    form["Confirmer le nouveau mot de passe"].input("un nouveau mot de passe")
    _button(at, "Réinitialiser").click()
    at = run_app(at=at)
    assert at.success and _accounts(at).set_index("Identifiant").loc["dsi", column] == (
        "Mot de passe"
    )


def test_admin_resets_a_password_only_when_confirmed(app_engine):
    viewer = add_user(app_engine, "viewer", login="elu")
    _admin, at = _users_page(app_engine, "users_edit_open")
    at.selectbox(key="edit_user").set_value(viewer.id)
    at = run_app(at=at)
    form = {t.label: t for t in at.text_input}
    form["Nouveau mot de passe"].input("un nouveau mot de passe")
    form["Confirmer le nouveau mot de passe"].input("un autre mot de passe")
    _button(at, "Réinitialiser").click()
    at = run_app(at=at)
    assert at.error[0].value == "Les deux mots de passe saisis ne sont pas identiques."
    with db.session_scope(app_engine, write=True) as session:
        assert users.authenticate(session, "elu", TEST_PASSWORD).user is not None
    form = {t.label: t for t in at.text_input}
    form["Nouveau mot de passe"].input("un nouveau mot de passe")
    form["Confirmer le nouveau mot de passe"].input("un nouveau mot de passe")
    _button(at, "Réinitialiser").click()
    at = run_app(at=at)
    assert [s.value for s in at.success] == [
        "Mot de passe réinitialisé : les sessions de ce compte sont fermées."
    ]
    with db.session_scope(app_engine, write=True) as session:
        assert users.authenticate(session, "elu", "un nouveau mot de passe").user is not None


def test_admin_links_a_pilot_to_actions_from_the_users_page(app_engine):
    pilot = add_user(app_engine, "pilot", login="pilote")
    _admin, at = _users_page(app_engine, "users_edit_open")
    assert "pilot_actions" not in _forms(at)  # not a pilot
    at.selectbox(key="edit_user").set_value(pilot.id)
    at = run_app(at=at)
    with db.session_scope(app_engine) as session:
        first = session.exec(sa.select(Action).order_by(Action.code)).scalars().first()
    at.multiselect[0].set_value([first.id])
    _button(at, "Enregistrer les actions pilotées").click()
    at = run_app(at=at)
    assert [s.value for s in at.success] == ["Actions pilotées enregistrées."]
    assert _accounts(at).set_index("Identifiant").loc["pilote", "Actions pilotées"] == first.code
    with db.session_scope(app_engine) as session:
        assert session.get(Action, first.id).pilot_user_id == pilot.id


def _settings_page(engine, *sections: str):
    at = open_page(run_app(session_token(engine, add_user(engine, "admin"))), "Réglages")
    return open_sections(at, *sections) if sections else at


def test_settings_page_shows_the_settings_in_force_and_builds_its_form_once_opened(app_engine):
    at = _settings_page(app_engine)
    summary = at.markdown[0].value
    assert "Consultation publique du plan (sans compte, en lecture seule) : **désactivée**" in (
        summary
    )
    assert "Taille maximale d'un fichier envoyé : **20 Mo**" in summary
    assert "Noms des pilotes dans les données ouvertes : **non publiés**" in summary
    assert [e.label for e in at.expander] == ["Modifier les réglages"]
    assert not at.get("form") and not at.toggle and not at.number_input
    at = open_sections(at, "settings_form_open")
    assert _forms(at) == ["settings"]


def test_admin_saves_the_settings_and_sees_them_in_force(app_engine):
    at = _settings_page(app_engine, "settings_form_open")
    at.toggle[0].set_value(True)
    at.number_input[0].set_value(50)
    _button(at, "Enregistrer").click()
    at = run_app(at=at)
    assert [s.value for s in at.success] == ["Réglages enregistrés."]
    assert "**activée**" in at.markdown[0].value and "**50 Mo**" in at.markdown[0].value
    with db.session_scope(app_engine) as session:
        saved = read_settings(session)
    assert saved.public_view and saved.upload_limit_mb == 50
    assert page_titles(run_app()) == PUBLIC_PAGES  # visitors see the public view at once


def test_an_admin_demoted_meanwhile_cannot_save_the_settings(app_engine):
    at = _settings_page(app_engine, "settings_form_open")
    with db.session_scope(app_engine, write=True) as session:
        other = users.create_user(session, system_actor("tests"), login="dsi", role="admin")
        users.set_role(session, other, _user(app_engine, "admin").id, Role.EDITOR)
    at.toggle[0].set_value(True)
    _button(at, "Enregistrer").click()
    at = run_app(at=at)
    assert "Réglages" not in page_titles(at)  # the rerun checks the role: the page is gone
    assert not at.success and not at.get("form")
    with db.session_scope(app_engine) as session:
        assert read_settings(session) == AppSettings(public_view=False, upload_limit_mb=20)


def test_settings_saved_by_another_admin_meanwhile_are_not_overwritten(app_engine):
    """Admin A opens the form; admin B changes the upload limit; A's save (of another
    setting) is refused in French, naming B's change, and writes nothing: saving A's
    form as it stood would have put the old limit back unseen."""
    at = _settings_page(app_engine, "settings_form_open")
    with db.session_scope(app_engine, write=True) as session:
        other = users.create_user(session, system_actor("tests"), login="dsi", role="admin")
        update_settings(session, other, public_view=False, upload_limit_mb=35)
    at = run_app(at=at)
    assert any("modifiés par quelqu'un d'autre" in w.value for w in at.warning)
    assert at.number_input[0].value == 20  # the form still shows what A opened
    at.toggle[0].set_value(True)
    _button(at, "Enregistrer").click()
    at = run_app(at=at)
    assert not at.success
    message = at.error[0].value
    assert "modifiés par quelqu'un d'autre" in message and "rien n'est enregistré" in message
    assert "Taille maximale d'un fichier envoyé : 20 Mo → 35 Mo" in message
    with db.session_scope(app_engine) as session:
        assert read_settings(session) == AppSettings(public_view=False, upload_limit_mb=35)
    # Folded and opened again, the form starts from the settings in force and saves.
    at.session_state["settings_form_open"] = False
    at = run_app(at=at)
    at = open_sections(at, "settings_form_open")
    assert at.number_input[0].value == 35 and not at.warning
    at.toggle[0].set_value(True)
    _button(at, "Enregistrer").click()
    at = run_app(at=at)
    assert [s.value for s in at.success] == ["Réglages enregistrés."]
    with db.session_scope(app_engine) as session:
        assert read_settings(session) == AppSettings(public_view=True, upload_limit_mb=35)


def test_account_page_shows_who_is_logged_in_and_builds_its_form_once_opened(app_engine):
    viewer = add_user(app_engine, "viewer", login="elu", display_name="Élue", email="e@cahors.fr")
    at = open_page(run_app(session_token(app_engine, viewer)), "Mon compte")
    assert at.main.text[0].value == (
        "Identifiant : elu\nNom affiché : Élue\nRôle : Lecteur\nAdresse électronique : e@cahors.fr"
    )
    assert [e.label for e in at.expander] == ["Changer mon mot de passe"]
    assert not at.get("form") and not at.text_input
    at = open_sections(at, "account_password_open")
    assert [t.label for t in at.text_input] == [
        "Mot de passe actuel",
        "Nouveau mot de passe",
        "Confirmer le nouveau mot de passe",
    ]


def test_user_changes_their_own_password_from_the_account_page(app_engine):
    viewer = add_user(app_engine, "viewer")
    at = open_page(run_app(session_token(app_engine, viewer)), "Mon compte")
    at = open_sections(at, "account_password_open")
    form = {t.label: t for t in at.text_input}
    form["Mot de passe actuel"].input(TEST_PASSWORD)
    form["Nouveau mot de passe"].input("un nouveau mot de passe")
    form["Confirmer le nouveau mot de passe"].input("un nouveau mot de passe")
    _button(at, "Changer le mot de passe").click()
    at = run_app(at=at)
    assert any("Mot de passe changé" in s.value for s in at.success)
    assert page_titles(run_app(at=at)) == EVERYONE  # this session stays open
    with db.session_scope(app_engine, write=True) as session:
        assert users.authenticate(session, "viewer", "un nouveau mot de passe").user is not None


def test_a_wrong_current_password_changes_nothing(app_engine):
    viewer = add_user(app_engine, "viewer")
    at = open_page(run_app(session_token(app_engine, viewer)), "Mon compte")
    at = open_sections(at, "account_password_open")
    form = {t.label: t for t in at.text_input}
    form["Mot de passe actuel"].input("pas le bon mot de passe")
    form["Nouveau mot de passe"].input("un nouveau mot de passe")
    form["Confirmer le nouveau mot de passe"].input("un nouveau mot de passe")
    _button(at, "Changer le mot de passe").click()
    at = run_app(at=at)
    assert at.error[0].value == "Le mot de passe actuel est incorrect."
    assert not at.success
    with db.session_scope(app_engine, write=True) as session:
        assert users.authenticate(session, "viewer", TEST_PASSWORD).user is not None


def test_an_admin_page_is_unreachable_for_a_viewer_even_by_its_address(app_engine):
    admin_at = run_app(session_token(app_engine, add_user(app_engine, "admin")))
    users_page = next(
        h for h, p in admin_at._registered_pages.items() if p["page_name"] == "Utilisateurs"
    )
    at = run_app(session_token(app_engine, add_user(app_engine, "viewer")))
    at._page_hash = users_page  # what typing /utilisateurs in the address bar asks for
    at = run_app(at=at)
    assert "Utilisateurs" not in [t.value for t in at.title]
    assert at.title[0].value == "Vue d'ensemble"  # the default page is shown instead
    assert status_total(at) == 19


SSO_SECRETS = {
    "auth": {
        "redirect_uri": "http://localhost:8501/oauth2callback",
        "cookie_secret": "secret-de-test",
        "client_id": "tracker",
        "client_secret": "secret-de-test",
        "server_metadata_url": "https://idp.example.org/.well-known/openid-configuration",
    }
}


def _sso_app(email: str | None, logged_in: bool = True):
    from streamlit.testing.v1 import AppTest

    from tests.pages import APP

    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets.update(SSO_SECRETS)
    at.user = {"is_logged_in": logged_in, "email": email} if logged_in else {"is_logged_in": False}
    return run_app(at=at)


def test_single_sign_on_button_appears_only_when_configured(app_engine):
    add_user(app_engine, "admin")
    assert "Se connecter avec le compte de la collectivité" not in [
        b.label for b in run_app().button
    ]
    at = _sso_app(None, logged_in=False)
    assert "Se connecter avec le compte de la collectivité" in [b.label for b in at.button]


def test_single_sign_on_identity_gets_the_role_of_the_matching_account(app_engine):
    add_user(app_engine, "admin", login="admin", email="dsi@cahors.fr")
    assert page_titles(_sso_app("DSI@cahors.fr")) == ADMIN_PAGES


@pytest.mark.parametrize("disabled", [False, True], ids=["unknown_email", "disabled_account"])
def test_single_sign_on_refuses_unknown_or_disabled_accounts(app_engine, disabled):
    admin = add_user(app_engine, "admin")
    viewer = add_user(app_engine, "viewer", email="elu@cahors.fr")
    if disabled:
        with db.session_scope(app_engine, write=True) as session:
            users.set_active(session, admin, viewer.id, False)
    at = _sso_app("elu@cahors.fr" if disabled else "inconnu@cahors.fr")
    assert page_titles(at) == ["Connexion"]
    message = at.error[0].value
    assert ("désactivé" in message) if disabled else ("Aucun compte actif" in message)
    assert not at.dataframe
