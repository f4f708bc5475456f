"""The command line: what the app can do, from a terminal.

Errors print a French message on stderr and exit non-zero; tracebacks only
with ``--debug``.
"""

from __future__ import annotations

import argparse
import errno
import getpass
import sys
import time
import traceback
from datetime import date
from pathlib import Path

from tracker.errors import NotFoundError, TrackerError, ValidationError
from tracker.io import parsing

# Each command imports what it needs when it runs: the database, pandas and the
# report's libraries take seconds to import, and ``--help`` or a mistyped option
# should answer at once (the tests and benchmarks run the CLI many times). For the
# same reason the roles are spelled out here rather than read from tracker.models;
# tests/test_bootstrap_and_cli.py checks that they stay the model's.
ROLES = ("admin", "editor", "pilot", "viewer")

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_ERROR = 2


class _FrenchParser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # pragma: no cover - argparse plumbing
        self.print_usage(sys.stderr)
        self.exit(EXIT_ERROR, f"Erreur : {message}\n")


def _parser() -> argparse.ArgumentParser:
    parser = _FrenchParser(
        prog="python -m tracker",
        description="Suivi de la stratégie digitale (Ville de Cahors et Grand Cahors).",
    )
    parser.add_argument("--debug", action="store_true", help="afficher le détail des erreurs")
    commands = parser.add_subparsers(dest="command", metavar="COMMANDE", parser_class=_FrenchParser)
    commands.required = True

    init = commands.add_parser("init", help="créer ou mettre à jour la base de données")
    mode = init.add_mutually_exclusive_group()
    mode.add_argument(
        "--example",
        action="store_true",
        help="charger le plan d'exemple (s'il n'est pas déjà présent)",
    )
    mode.add_argument(
        "--empty", action="store_true", help="base vide : ne jamais charger le plan d'exemple"
    )

    backup = commands.add_parser(
        "backup", help="copie cohérente de la base SQLite, même en service"
    )
    backup.add_argument("path", type=Path, help="fichier ou dossier de destination")

    commands.add_parser("check", help="vérifier l'intégrité et les contraintes de la base")

    imp = commands.add_parser(
        "import", help="importer un plan (.xlsx, ou un fichier CSV par feuille)"
    )
    imp.add_argument(
        "files",
        nargs="+",
        type=Path,
        metavar="FICHIER",
        help="classeur .xlsx, ou fichiers CSV nommés d'après leur feuille",
    )
    imp.add_argument("--plan", default=None, help="nom du plan à créer ou à mettre à jour")
    imp.add_argument(
        "--sheet",
        default=None,
        help="feuille d'un fichier CSV dont le nom ne la désigne pas (ex. Actions)",
    )
    imp.add_argument(
        "--dry-run",
        action="store_true",
        help="seulement montrer ce qui serait créé, modifié ou refusé",
    )

    exp = commands.add_parser("export", help="exporter un plan au format du modèle d'import")
    exp.add_argument("file", type=Path, metavar="FICHIER.xlsx")
    exp.add_argument(
        "--plan",
        default=None,
        help="nom du plan (par défaut : le seul plan, ou le premier plan réel)",
    )

    opendata = commands.add_parser(
        "opendata",
        help="publier un plan en données ouvertes (CSV, JSON et datapackage.json)",
    )
    opendata.add_argument("folder", type=Path, metavar="DOSSIER", help="créé s'il n'existe pas")
    opendata.add_argument(
        "--plan",
        default=None,
        help="nom du plan (par défaut : le seul plan, ou le premier plan réel)",
    )

    budget = commands.add_parser(
        "export-budget",
        help="exporter le budget d'un plan pour la direction des finances (.xlsx)",
    )
    budget.add_argument("file", type=Path, metavar="FICHIER.xlsx")
    budget.add_argument(
        "--year",
        type=int,
        default=None,
        metavar="ANNÉE",
        help="une seule année (par défaut : toutes les années du plan)",
    )
    budget.add_argument(
        "--plan",
        default=None,
        help="nom du plan (par défaut : le seul plan, ou le premier plan réel)",
    )

    committee_report = commands.add_parser(
        "report",
        help="produire le rapport du comité de pilotage (PDF, et ses chiffres en .xlsx)",
    )
    committee_report.add_argument("file", type=Path, metavar="FICHIER.pdf")
    committee_report.add_argument(
        "--review",
        type=int,
        default=None,
        metavar="N",
        help="numéro du comité (par défaut : le plan tel qu'il est aujourd'hui, comparé au "
        "dernier comité clos)",
    )
    committee_report.add_argument(
        "--plan",
        default=None,
        help="nom du plan (par défaut : celui du comité, sinon le seul plan ou le premier plan "
        "réel)",
    )
    committee_report.add_argument(
        "--xlsx",
        type=Path,
        default=None,
        metavar="FICHIER.xlsx",
        help="écrire aussi le contenu du rapport dans un classeur",
    )

    survey = commands.add_parser(
        "survey-import",
        help="importer les réponses individuelles d'une vague d'enquête (.xlsx ou .csv)",
    )
    survey.add_argument("file", type=Path, metavar="FICHIER")
    survey.add_argument(
        "--wave", required=True, help="nom de la vague (créée si elle n'existe pas)"
    )
    survey.add_argument(
        "--plan", default=None, help="nom du plan (par défaut : le seul plan, ou le premier)"
    )
    survey.add_argument(
        "--dry-run", action="store_true", help="lire et calculer sans rien enregistrer"
    )
    survey.add_argument(
        "--start", default=None, metavar="AAAA-MM-JJ", help="début du terrain (vague à créer)"
    )
    survey.add_argument(
        "--end",
        default=None,
        metavar="AAAA-MM-JJ",
        help="fin du terrain, date des mesures (obligatoire pour créer la vague)",
    )
    survey.add_argument("--method", default="", help="méthode (vague à créer)")
    survey.add_argument("--population", default="", help="population (vague à créer)")

    users_parser = commands.add_parser("users", help="gérer les comptes")
    users_commands = users_parser.add_subparsers(
        dest="users_command", metavar="ACTION", parser_class=_FrenchParser
    )
    users_commands.required = True
    roles = list(ROLES)
    add = users_commands.add_parser("add", help="créer un compte")
    add.add_argument("login", help="identifiant")
    add.add_argument("--role", required=True, choices=roles, help="rôle du compte")
    add.add_argument("--name", default="", help="nom affiché")
    add.add_argument("--email", default=None, help="adresse (connexion unique)")
    add.add_argument(
        "--password-stdin", action="store_true", help="lire le mot de passe sur l'entrée standard"
    )
    add.add_argument(
        "--no-password",
        action="store_true",
        help="compte sans mot de passe (authentification unique seulement)",
    )
    users_commands.add_parser("list", help="lister les comptes")
    set_role = users_commands.add_parser("set-role", help="changer le rôle d'un compte")
    set_role.add_argument("login")
    set_role.add_argument("role", choices=roles)
    for name, text in (("disable", "désactiver un compte"), ("enable", "réactiver un compte")):
        users_commands.add_parser(name, help=text).add_argument("login")
    reset = users_commands.add_parser("reset-password", help="réinitialiser un mot de passe")
    reset.add_argument("login")
    reset.add_argument(
        "--password-stdin", action="store_true", help="lire le mot de passe sur l'entrée standard"
    )
    return parser


def _init(args: argparse.Namespace) -> int:
    from tracker import db  # noqa: PLC0415
    from tracker.bootstrap import prepare_database  # noqa: PLC0415
    from tracker.io.example import example_present, load_example  # noqa: PLC0415
    from tracker.services.app_settings import INITIALISED, set_setting  # noqa: PLC0415
    from tracker.services.users import command_line_actor  # noqa: PLC0415

    engine = db.get_engine()
    result = prepare_database(engine, load_example_plan=not args.empty)
    if result.upgrade.backup:
        print(f"Copie de sécurité avant mise à jour : {result.upgrade.backup}")
    if result.upgrade.before != result.upgrade.after:
        print(f"Schéma mis à jour (version {result.upgrade.after}).")
    else:
        print(f"Schéma à jour (version {result.upgrade.after}).")
    with db.session_scope(engine, write=True) as session:
        set_setting(session, INITIALISED, "oui")
        if args.example and not example_present(session):
            load_example(session, actor=command_line_actor())
            print("Plan d'exemple chargé (données illustratives).")
            return EXIT_OK
    if result.example_loaded:
        print("Plan d'exemple chargé (données illustratives).")
    elif args.example:
        print("Le plan d'exemple est déjà présent.")
    return EXIT_OK


def _backup(args: argparse.Namespace) -> int:
    from tracker import db  # noqa: PLC0415

    destination = db.backup_sqlite(db.get_engine(), args.path)
    print(f"Sauvegarde écrite : {destination}")
    return EXIT_OK


def _check(_args: argparse.Namespace) -> int:
    from tracker import db  # noqa: PLC0415
    from tracker.services.integrity import run_checks  # noqa: PLC0415

    engine = db.get_engine()
    head = db.head_revision()
    current = db.current_revision(engine)
    problems = []
    if current != head:
        problems.append(
            f"Schéma en version {current or 'aucune'} au lieu de {head} : "
            "lancez « python -m tracker init »."
        )
    if current is not None:
        with db.session_scope(engine) as session:
            problems.extend(run_checks(session))
    if problems:
        print(f"{len(problems)} problème(s) trouvé(s) :", file=sys.stderr)
        for problem in problems:
            print(f"- {problem}", file=sys.stderr)
        return EXIT_PROBLEMS
    print("Base de données saine : aucun problème trouvé.")
    return EXIT_OK


def _read_password(from_stdin: bool) -> tuple[str, str]:
    """The new password and its confirmation: from stdin, or asked twice without echo."""
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        return password, password
    first = getpass.getpass("Mot de passe : ")
    second = getpass.getpass("Confirmer le mot de passe : ")
    return first, second


def _users(args: argparse.Namespace) -> int:
    from tracker import db  # noqa: PLC0415
    from tracker.bootstrap import prepare_database  # noqa: PLC0415
    from tracker.services import users  # noqa: PLC0415
    from tracker.services.users import command_line_actor  # noqa: PLC0415

    engine = db.get_engine()
    prepare_database(engine)
    actor = command_line_actor()
    action = args.users_command
    if action == "list":
        with db.session_scope(engine) as session:
            accounts = users.list_users(session, actor)
        if not accounts:
            print("Aucun compte.")
        for u in accounts:
            state = "actif" if u.active else "désactivé"
            print(f"{u.login}\t{u.role.value}\t{state}\t{u.display_name}\t{u.email or ''}")
        return EXIT_OK
    password = confirmation = None
    if action == "add" and not args.no_password or action == "reset-password":
        password, confirmation = _read_password(args.password_stdin)
    with db.session_scope(engine, write=True) as session:
        if action == "add":
            users.create_user(
                session,
                actor,
                login=args.login,
                role=args.role,
                display_name=args.name,
                email=args.email,
                password=password,
                confirmation=confirmation,
            )
            message = f"Compte « {users.normalise_login(args.login)} » créé ({args.role})."
        else:
            target = users.find_user(session, args.login)
            if action == "set-role":
                users.set_role(session, actor, target.id, args.role)
                message = f"Rôle de « {target.login} » : {args.role}."
            elif action in ("disable", "enable"):
                users.set_active(session, actor, target.id, action == "enable")
                message = f"Compte « {target.login} » " + (
                    "réactivé." if action == "enable" else "désactivé (sessions fermées)."
                )
            else:
                users.reset_password(session, actor, target.id, password, confirmation)
                message = f"Mot de passe de « {target.login} » réinitialisé."
    print(message)
    return EXIT_OK


def _find_plan_id(session, name: str | None) -> int:  # noqa: ANN001
    from tracker.services import plans as plan_service  # noqa: PLC0415

    plans = plan_service.list_plans(session)
    if name is None:
        if not plans:
            raise TrackerError("La base ne contient aucun plan.")
        return plans[0].id
    for plan in plans:
        if plan.name == name:
            return plan.id
    known = ", ".join(f"« {p.name} »" for p in plans) or "aucun"
    raise TrackerError(f"Aucun plan ne s'appelle « {name} » (plans existants : {known}).")


def _import(args: argparse.Namespace) -> int:
    from tracker import db  # noqa: PLC0415
    from tracker.bootstrap import prepare_database  # noqa: PLC0415
    from tracker.io.plan_import import report_lines, run_import  # noqa: PLC0415
    from tracker.io.workbook import InputFile  # noqa: PLC0415
    from tracker.services.users import command_line_actor  # noqa: PLC0415

    engine = db.get_engine()
    prepare_database(engine)
    files = []
    for path in args.files:
        if not path.is_file():
            raise TrackerError(f"Le fichier {path} n'existe pas.")
        files.append(InputFile(path.name, path.read_bytes()))
    actor = command_line_actor()
    try:
        with db.session_scope(engine) as session:
            report, read = run_import(session, actor, files, sheet=args.sheet, plan_name=args.plan)
    except ValidationError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_PROBLEMS
    for line in report_lines(report, read):
        print(line)
    if not report.ok:
        print("Import refusé : corrigez le fichier ; rien n'a été enregistré.", file=sys.stderr)
        return EXIT_PROBLEMS
    if args.dry_run:
        print("Essai seulement (--dry-run) : rien n'a été enregistré.")
        return EXIT_OK
    with db.session_scope(engine, write=True) as session:
        run_import(session, actor, files, sheet=args.sheet, plan_name=args.plan, apply=True)
    print(f"Import enregistré : {report.total_changes} élément(s) créé(s) ou modifié(s).")
    return EXIT_OK


def _date_option(value: str | None, option: str) -> date | None:
    try:
        return parsing.parse_date(value)
    except parsing.CellError as exc:
        raise TrackerError(f"{option} : {exc} (format attendu : AAAA-MM-JJ).") from None


def _survey_import(args: argparse.Namespace) -> int:
    from tracker import db  # noqa: PLC0415
    from tracker.bootstrap import prepare_database  # noqa: PLC0415
    from tracker.formats import format_number, format_percent  # noqa: PLC0415
    from tracker.io.survey_file import read_survey_file  # noqa: PLC0415
    from tracker.io.workbook import InputFile  # noqa: PLC0415
    from tracker.services import surveys  # noqa: PLC0415
    from tracker.services.users import command_line_actor  # noqa: PLC0415

    engine = db.get_engine()
    prepare_database(engine)
    if not args.file.is_file():
        raise TrackerError(f"Le fichier {args.file} n'existe pas.")
    start = _date_option(args.start, "--start")
    end = _date_option(args.end, "--end")
    actor = command_line_actor()
    try:
        table = read_survey_file(InputFile(args.file.name, args.file.read_bytes()))
    except ValidationError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_PROBLEMS
    weighting = f"pondérés par « {table.weight_column} »" if table.weight_column else "sans poids"
    print(
        f"{table.size} répondants lus dans {args.file.name} ({len(table.columns)} colonnes, "
        f"{weighting})."
    )
    try:
        with db.session_scope(engine, write=True) as session:
            plan_id = _find_plan_id(session, args.plan)
            wave = surveys.find_wave(session, plan_id, args.wave)
            if wave is None:
                wave = surveys.create_wave(
                    session,
                    actor,
                    plan_id,
                    surveys.WaveInput(args.wave, start, end, args.method, args.population),
                )
                print(f"Vague « {wave.name} » créée.")
            outcome = surveys.import_responses(session, actor, wave.id, table, dry_run=args.dry_run)
            if args.dry_run:
                session.rollback()
    except ValidationError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_PROBLEMS
    for result in outcome.results:
        print(
            f"{result.code} {result.name} : {format_percent(result.value, 1)} "
            f"(IC 95 % {format_percent(result.ci_low, 1)} – {format_percent(result.ci_high, 1)}, "
            f"{result.n} répondants, effectif efficace {format_number(result.effective_size)})"
        )
    for warning in outcome.warnings:
        print(f"Attention : {warning}")
    if args.dry_run:
        print("Essai seulement (--dry-run) : rien n'a été enregistré.")
        return EXIT_OK
    replaced = f" (remplacent {outcome.replaced} répondants)" if outcome.replaced else ""
    print(
        f"Import enregistré : {outcome.respondents} répondants dans « {outcome.wave_name} »"
        f"{replaced}, {len(outcome.results)} indicateur(s) calculé(s)."
    )
    return EXIT_OK


def _export(args: argparse.Namespace) -> int:
    from tracker import db  # noqa: PLC0415
    from tracker.bootstrap import prepare_database  # noqa: PLC0415
    from tracker.io.export import write_workbook  # noqa: PLC0415
    from tracker.services import plans as plan_service  # noqa: PLC0415

    engine = db.get_engine()
    prepare_database(engine)
    with db.session_scope(engine) as session:
        data, versions = plan_service.plan_data(session, _find_plan_id(session, args.plan))
    try:
        write_workbook(args.file, data, versions)
    except OSError as exc:
        raise TrackerError(f"Impossible d'écrire {args.file} : {exc.strerror or exc}") from exc
    print(f"Plan « {data.name} » exporté dans {args.file}.")
    return EXIT_OK


def _os_reason(exc: OSError) -> str:
    """Why the system refused to write, in French (the system's own text is English)."""
    if isinstance(exc, PermissionError):
        return "accès refusé"
    if isinstance(exc, FileExistsError | NotADirectoryError):
        return "un fichier (et non un dossier) se trouve sur ce chemin"
    if exc.errno == errno.ENOSPC:
        return "disque plein"
    if exc.errno == errno.EROFS:
        return "support en lecture seule"
    return f"erreur du système ({exc.strerror or exc})"


def _opendata(args: argparse.Namespace) -> int:
    from tracker import db  # noqa: PLC0415
    from tracker.bootstrap import prepare_database  # noqa: PLC0415
    from tracker.io.opendata import open_data_files, write_open_data  # noqa: PLC0415
    from tracker.services import plans as plan_service  # noqa: PLC0415
    from tracker.services.app_settings import read_settings  # noqa: PLC0415

    engine = db.get_engine()
    prepare_database(engine)
    with db.session_scope(engine) as session:
        plan_id = _find_plan_id(session, args.plan)
        name = plan_service.get_plan(session, plan_id).name
        with_names = read_settings(session).open_data_pilot_names
        files = open_data_files(session, plan_id, include_pilot_names=with_names)
    try:
        written = write_open_data(args.folder, files)
    except OSError as exc:
        raise TrackerError(
            f"Impossible d'écrire les données ouvertes dans le dossier {args.folder} : "
            f"{_os_reason(exc)}."
        ) from exc
    for path in written:
        print(f"Écrit : {path}")
    names = "publiés" if with_names else "non publiés (réglage des administrateurs)"
    print(
        f"Données ouvertes du plan « {name} » écrites dans {args.folder} "
        f"({len(written)} fichiers ; noms des pilotes {names})."
    )
    return EXIT_OK


def _export_budget(args: argparse.Namespace) -> int:
    from tracker import db  # noqa: PLC0415
    from tracker.bootstrap import prepare_database  # noqa: PLC0415
    from tracker.io.budget_export import finance_workbook  # noqa: PLC0415
    from tracker.services import plans as plan_service  # noqa: PLC0415

    engine = db.get_engine()
    prepare_database(engine)
    with db.session_scope(engine) as session:
        plan_id = _find_plan_id(session, args.plan)
        name = plan_service.get_plan(session, plan_id).name
        content = finance_workbook(session, plan_id, args.year)
    try:
        args.file.write_bytes(content)
    except OSError as exc:
        raise TrackerError(f"Impossible d'écrire {args.file} : {exc.strerror or exc}") from exc
    scope = f"année {args.year}" if args.year is not None else "toutes les années"
    print(f"Budget du plan « {name} » ({scope}) exporté dans {args.file}.")
    return EXIT_OK


def _known_reviews(session) -> str:  # noqa: ANN001
    from tracker.formats import format_date  # noqa: PLC0415
    from tracker.services import plans as plan_service  # noqa: PLC0415
    from tracker.services import reviews as review_service  # noqa: PLC0415

    reviews = [
        f"n°{r.id} « {r.title} » du {format_date(r.date)}"
        for plan in plan_service.list_plans(session)
        for r in review_service.list_reviews(session, plan.id)
    ]
    return " ; ".join(reviews) or "aucun"


def _report(args: argparse.Namespace) -> int:
    from tracker import db  # noqa: PLC0415
    from tracker.bootstrap import prepare_database  # noqa: PLC0415
    from tracker.formats import format_date, format_number  # noqa: PLC0415
    from tracker.io.report import charts_problem, report_content, report_pdf, report_xlsx  # noqa: PLC0415
    from tracker.services import reviews as review_service  # noqa: PLC0415

    for path in (args.file, args.xlsx):
        # Refused before the few seconds the charts take.
        if path is not None and not path.parent.is_dir():
            raise TrackerError(
                f"Impossible d'écrire {path} : le dossier {path.parent} n'existe pas."
            )
    engine = db.get_engine()
    prepare_database(engine)
    with db.session_scope(engine) as session:
        if args.review is not None:
            try:
                review = review_service.get_review(session, args.review)
            except NotFoundError as exc:
                raise TrackerError(
                    f"{exc} Comités enregistrés : {_known_reviews(session)}."
                ) from exc
            plan_id = review.plan_id if args.plan is None else _find_plan_id(session, args.plan)
        else:
            plan_id = _find_plan_id(session, args.plan)
        content = report_content(session, plan_id, args.review, date.today())
    problem = charts_problem()
    if problem:
        print(f"Attention : graphiques non disponibles : {problem}.", file=sys.stderr)
    started = time.perf_counter()
    pdf = report_pdf(content)
    seconds = time.perf_counter() - started
    outputs = [(args.file, pdf)]
    if args.xlsx is not None:
        outputs.append((args.xlsx, report_xlsx(content)))
    for path, data in outputs:
        try:
            path.write_bytes(data)
        except OSError as exc:
            raise TrackerError(f"Impossible d'écrire {path} : {_os_reason(exc)}.") from exc
    what = (
        f"comité « {content.meeting.title} » du {format_date(content.meeting.date)}"
        if content.meeting is not None
        else f"état du plan au {format_date(content.at)}"
    )
    print(
        f"Rapport du plan « {content.plan['name']} » ({what}) écrit dans {args.file} "
        f"(généré en {format_number(seconds, 1)} s)."
    )
    if args.xlsx is not None:
        print(f"Chiffres du rapport écrits dans {args.xlsx}.")
    return EXIT_OK


COMMANDS = {
    "init": _init,
    "backup": _backup,
    "check": _check,
    "users": _users,
    "import": _import,
    "export": _export,
    "export-budget": _export_budget,
    "opendata": _opendata,
    "report": _report,
    "survey-import": _survey_import,
}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except TrackerError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"Erreur : {exc}", file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:  # noqa: BLE001 - last resort: French message, no traceback
        if args.debug:
            traceback.print_exc()
        else:
            print(
                "Erreur inattendue (relancez avec --debug pour le détail) : "
                f"{type(exc).__name__}: {exc}",
                file=sys.stderr,
            )
        return EXIT_ERROR
