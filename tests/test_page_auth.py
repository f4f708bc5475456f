"""Page tests (AppTest): first run, logging in, navigation and controls per role."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.conftest import TEST_PASSWORD, add_user, session_token
from tests.pages import actions_table, open_page, page_titles, run_app, status_total
from tracker import db
from tracker.bootstrap import prepare_database
from tracker.models import AuditEntry, User
from tracker.services import users
from tracker.services.app_settings import update_settings
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


@pytest.fixture
def app_engine(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'app' / 'tracker.db'}"
    monkeypatch.setenv("TRACKER_DATABASE_URL", url)
    engine = db.get_engine(url)
    prepare_database(engine)
    return engine


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


def test_admin_creates_an_account_from_the_users_page(app_engine):
    admin = add_user(app_engine, "admin")
    at = run_app(session_token(app_engine, admin))
    at = open_page(at, "Utilisateurs")
    form = {t.label: t for t in at.text_input}
    form["Identifiant"].input("elu.referent")
    form["Nom affiché"].input("Élu référent")
    form["Mot de passe"].input("un mot de passe long")
    form["Confirmer le mot de passe"].input("un mot de passe long")
    next(b for b in at.button if b.label == "Créer le compte").click()
    at = run_app(at=at)
    assert any("elu.referent" in s.value for s in at.success)
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


def test_user_changes_their_own_password_from_the_account_page(app_engine):
    viewer = add_user(app_engine, "viewer")
    at = open_page(run_app(session_token(app_engine, viewer)), "Mon compte")
    form = {t.label: t for t in at.text_input}
    form["Mot de passe actuel"].input(TEST_PASSWORD)
    form["Nouveau mot de passe"].input("un nouveau mot de passe")
    form["Confirmer le nouveau mot de passe"].input("un nouveau mot de passe")
    next(b for b in at.button if b.label == "Changer le mot de passe").click()
    at = run_app(at=at)
    assert any("Mot de passe changé" in s.value for s in at.success)
    assert page_titles(run_app(at=at)) == EVERYONE  # this session stays open
    with db.session_scope(app_engine, write=True) as session:
        assert users.authenticate(session, "viewer", "un nouveau mot de passe").user is not None


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
