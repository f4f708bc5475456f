"""HTTP routes served beside Streamlit (st.App): the session cookie.

``/tracker-auth/session?code=…`` trades a one-minute, one-time login code for
an HttpOnly, signed, expiring cookie; ``/tracker-auth/logout`` clears it. The
session itself lives in the database, so the cookie alone proves nothing
once the session is ended or the account disabled.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import Route

from tracker import db
from tracker.bootstrap import prepare_database
from tracker.services import users
from tracker.ui.auth import AUTH_PATH, COOKIE_NAME

_ready = False


def _exchange(code: str) -> tuple[str | None, bytes]:
    global _ready
    engine = db.get_engine()
    if not _ready:
        prepare_database(engine)
        _ready = True
    with db.session_scope(engine, write=True) as session:
        token = users.exchange_login_code(session, code)
        return token, users.session_secret(session)


def _is_https(request: Request) -> bool:
    forwarded = request.headers.get("x-forwarded-proto", "")
    return request.url.scheme == "https" or forwarded.split(",")[0].strip() == "https"


async def open_session(request: Request) -> RedirectResponse:
    code = request.query_params.get("code", "")
    token, secret = await run_in_threadpool(_exchange, code) if code else (None, b"")
    response = RedirectResponse("/", status_code=303)
    response.headers["Cache-Control"] = "no-store"
    if token is not None:
        response.set_cookie(
            COOKIE_NAME,
            users.sign(token, secret),
            max_age=int(users.SESSION_DURATION.total_seconds()),
            httponly=True,
            secure=_is_https(request),
            samesite="lax",
            path="/",
        )
    return response


async def close_session(request: Request) -> RedirectResponse:
    response = RedirectResponse("/", status_code=303)
    response.headers["Cache-Control"] = "no-store"
    response.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="lax")
    return response


def routes() -> list[Route]:
    return [
        Route(f"{AUTH_PATH}/session", open_session, methods=["GET"]),
        Route(f"{AUTH_PATH}/logout", close_session, methods=["GET"]),
    ]
