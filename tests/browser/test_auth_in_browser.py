"""Accounts in a real browser: first administrator, login, logout, lockout, hostile text."""

from __future__ import annotations

from sqlmodel import select

from tests.browser.conftest import log_in, open_section, start_app, stop_app, wait_for_script
from tests.conftest import TEST_PASSWORD, add_user
from tracker import db
from tracker.bootstrap import prepare_database
from tracker.models import Action, Objective, Plan, Stake, User
from tracker.services import users
from tracker.services.app_settings import read_settings

HOSTILE = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "'; DROP TABLE action; --",
    "مرحبا بالعالم — texte de droite à gauche 🚌📱✨",
]


def test_first_run_creates_the_administrator(app_server, page):
    page.goto(app_server.url)
    wait_for_script(page)
    page.get_by_label("Identifiant").fill("admin")
    page.get_by_label("Nom affiché").fill("Administratrice")
    page.get_by_label("Mot de passe", exact=True).fill("un mot de passe long")
    page.get_by_label("Confirmer le mot de passe").fill("un mot de passe long")
    page.get_by_role("button", name="Créer l'administrateur").click()
    page.get_by_text("Connecté : Administratrice (Administrateur)").wait_for(timeout=30_000)
    page.reload()
    wait_for_script(page)
    # Still logged in after a reload (HttpOnly cookie), and the first-run screen is gone.
    page.get_by_text("Connecté : Administratrice").wait_for(timeout=30_000)
    cookie = next(c for c in page.context.cookies() if c["name"] == "tracker_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert "." in cookie["value"]  # token.signature


def test_log_in_reach_the_plan_and_log_out(seeded_server, page):
    log_in(page, seeded_server.url, "elu", TEST_PASSWORD)
    page.get_by_text("Connecté : elu (Lecteur)").wait_for(timeout=30_000)
    page.get_by_role("heading", name="Vue d'ensemble").wait_for(timeout=30_000)
    assert page.get_by_role("link", name="Utilisateurs").count() == 0
    page.get_by_role("button", name="Se déconnecter").click()
    page.get_by_role("button", name="Se connecter").wait_for(timeout=30_000)
    page.reload()
    wait_for_script(page)
    assert page.get_by_role("button", name="Se connecter").count() == 1
    assert page.get_by_text("Connecté :").count() == 0


def test_a_tampered_session_cookie_is_refused(seeded_server, page):
    log_in(page, seeded_server.url, "elu", TEST_PASSWORD)
    page.get_by_text("Connecté : elu").wait_for(timeout=30_000)
    cookie = next(c for c in page.context.cookies() if c["name"] == "tracker_session")
    token, signature = cookie["value"].rsplit(".", 1)
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")  # another token, same signature
    page.context.clear_cookies()
    page.context.add_cookies([{**cookie, "value": f"{forged}.{signature}"}])
    page.reload()
    wait_for_script(page)
    page.get_by_role("button", name="Se connecter").wait_for(timeout=30_000)
    assert page.get_by_text("Connecté :").count() == 0


def test_a_viewer_typing_an_admin_address_does_not_reach_it(seeded_server, page):
    log_in(page, seeded_server.url, "elu", TEST_PASSWORD)
    page.get_by_text("Connecté : elu").wait_for(timeout=30_000)
    page.goto(f"{seeded_server.url}/utilisateurs")
    wait_for_script(page)
    page.wait_for_timeout(500)
    assert page.get_by_role("heading", name="Utilisateurs").count() == 0
    assert page.get_by_text("Créer un compte").count() == 0
    assert page.get_by_role("button", name="Créer le compte").count() == 0


def test_admin_creates_an_account_once_the_section_is_open(seeded_server, page):
    log_in(page, seeded_server.url, "admin", TEST_PASSWORD)
    page.get_by_text("Connecté : admin").wait_for(timeout=30_000)
    page.get_by_role("link", name="Utilisateurs").click()
    page.get_by_role("heading", name="Utilisateurs").wait_for(timeout=30_000)
    wait_for_script(page)
    assert page.get_by_role("button", name="Créer le compte").count() == 0  # not sent yet
    open_section(page, "Créer un compte")
    page.get_by_role("button", name="Créer le compte").wait_for(timeout=30_000)
    page.get_by_label("Identifiant").fill("elu.referent")
    page.get_by_label("Nom affiché").fill("Élu référent")
    page.get_by_label("Mot de passe", exact=True).fill("un mot de passe long")
    page.get_by_label("Confirmer le mot de passe").fill("un mot de passe long")
    page.get_by_role("button", name="Créer le compte").click()
    page.get_by_text("Compte « elu.referent » créé.").wait_for(timeout=30_000)
    wait_for_script(page)
    # The section stays open after the save, ready for the next account.
    assert page.get_by_role("button", name="Créer le compte").count() == 1
    with db.session_scope(db.make_engine(seeded_server.database_url)) as session:
        created = session.exec(select(User).where(User.login == "elu.referent")).one()
    assert created.role == "viewer"


def _change_password(page, current: str, new: str) -> None:  # noqa: ANN001
    for label, value in [
        ("Mot de passe actuel", current),
        ("Nouveau mot de passe", new),
        ("Confirmer le nouveau mot de passe", new),
    ]:
        page.get_by_role("textbox", name=label, exact=True).fill(value)
    page.get_by_role("button", name="Changer le mot de passe").click()


def test_user_changes_their_password_from_the_account_page(seeded_server, page):
    log_in(page, seeded_server.url, "elu", TEST_PASSWORD)
    page.get_by_text("Connecté : elu").wait_for(timeout=30_000)
    page.get_by_role("link", name="Mon compte").click()
    page.get_by_text("Identifiant : elu").wait_for(timeout=30_000)
    wait_for_script(page)
    assert page.get_by_role("textbox", name="Mot de passe actuel").count() == 0  # not sent yet
    open_section(page, "Changer mon mot de passe")
    _change_password(page, "pas le bon mot de passe", "un nouveau mot de passe")
    page.get_by_text("Le mot de passe actuel est incorrect.").wait_for(timeout=30_000)
    wait_for_script(page)
    _change_password(page, TEST_PASSWORD, "un nouveau mot de passe")
    page.get_by_text("Mot de passe changé.").wait_for(timeout=30_000)
    with db.session_scope(db.make_engine(seeded_server.database_url), write=True) as session:
        assert users.authenticate(session, "elu", "un nouveau mot de passe").user is not None


def test_admin_opens_the_public_view_from_the_settings(seeded_server, page, browser):
    log_in(page, seeded_server.url, "admin", TEST_PASSWORD)
    page.get_by_text("Connecté : admin").wait_for(timeout=30_000)
    page.get_by_role("link", name="Réglages").click()
    page.get_by_text("Consultation publique du plan (sans compte, en lecture seule) :").wait_for(
        timeout=30_000
    )
    wait_for_script(page)
    open_section(page, "Modifier les réglages")
    page.get_by_text(
        "Consultation publique du plan (sans compte, en lecture seule)", exact=True
    ).click()
    page.get_by_role("button", name="Enregistrer").click()
    page.get_by_text("Réglages enregistrés.").wait_for(timeout=30_000)
    page.get_by_text("activée", exact=True).wait_for(timeout=30_000)
    with db.session_scope(db.make_engine(seeded_server.database_url)) as session:
        assert read_settings(session).public_view
    # Another browser, without an account, now reads the plan (and only that).
    visitor = browser.new_context(locale="fr-FR").new_page()
    try:
        visitor.goto(seeded_server.url)
        wait_for_script(visitor)
        visitor.get_by_role("heading", name="Vue d'ensemble").wait_for(timeout=30_000)
        assert visitor.get_by_role("link", name="Connexion").count() == 1
        assert visitor.get_by_role("link", name="Réglages").count() == 0
    finally:
        visitor.context.close()


def test_five_wrong_passwords_lock_the_login(seeded_server, page):
    for _ in range(5):
        log_in(page, seeded_server.url, "elu", "mauvais mot de passe")
        page.get_by_text(users.WRONG_CREDENTIALS).wait_for(timeout=30_000)
    log_in(page, seeded_server.url, "elu", TEST_PASSWORD)
    page.get_by_text("cet identifiant est bloqué pendant 15 minutes").wait_for(timeout=30_000)
    assert page.get_by_text("Connecté :").count() == 0


def test_hostile_text_is_shown_as_typed_and_never_executed(tmp_path, browser, page):
    url = f"sqlite:///{tmp_path / 'hostile.db'}"
    engine = db.make_engine(url)

    prepare_database(engine)
    add_user(engine, "viewer", login="elu")
    long_text = "long " * 2000  # 10,000 characters
    with db.session_scope(engine, write=True) as session:
        plan = session.exec(select(Plan)).one()
        plan.name = HOSTILE[0]
        plan.description = HOSTILE[1] + " " + long_text
        stakes = session.exec(select(Stake).order_by(Stake.code)).all()
        stakes[0].title, stakes[1].title = HOSTILE[1], HOSTILE[3]
        objective = session.exec(select(Objective).order_by(Objective.code)).first()
        objective.title = HOSTILE[2]
        for action, text in zip(
            session.exec(select(Action).order_by(Action.code)), HOSTILE, strict=False
        ):
            action.title = text
    with engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT name FROM plan").scalar_one()
    assert stored == HOSTILE[0]
    engine.dispose()
    server = start_app(tmp_path, url)
    try:
        log_in(page, server.url, "elu", TEST_PASSWORD)
        page.get_by_role("heading", name="Vue d'ensemble").wait_for(timeout=60_000)
        wait_for_script(page)
        assert HOSTILE[0] in page.locator("[data-testid='stMain']").inner_text()
        page.goto(f"{server.url}/plan")
        wait_for_script(page)
        page.get_by_role("heading", name="Les actions", exact=True).wait_for(timeout=30_000)
        main = page.locator("[data-testid='stMain']")
        text = main.inner_text()
        assert HOSTILE[0] in text  # plan name, as typed
        assert HOSTILE[1] in text  # a stake's title, as typed
        assert HOSTILE[2] in text  # an objective's title, as typed ("--" kept)
        assert HOSTILE[3] in text
        # Nothing was turned into markup: no injected image, script or dialog.
        assert main.locator("img[src='x']").count() == 0
        assert page.locator("script:text('alert(1)')").count() == 0
        assert page.dialogs == []
        assert page.locator("[data-testid='stException']").count() == 0
    finally:
        stop_app(server.process)
    with db.make_engine(url).connect() as conn:
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM action").scalar_one() == 19
