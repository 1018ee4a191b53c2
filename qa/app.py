"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine
from starlette.middleware.sessions import SessionMiddleware

from qa import __version__
from qa.db import make_engine
from qa.settings import Settings, get_settings
from qa.web import errors
from qa.web.csrf import verify_csrf
from qa.web.middleware import BodySizeLimit, SecurityHeaders
from qa.web.templates import STATIC_DIR

API_DESCRIPTION = (
    "Caliper's public API. Authenticate with `Authorization: Bearer <token>` (`qa tokens create`)."
)


def create_app(settings: Settings | None = None, *, engine: Engine | None = None) -> FastAPI:
    """Build the app for `settings` (the environment's when omitted); tests may hand in an engine."""
    settings = settings or get_settings()
    app = FastAPI(title="Caliper", version=__version__, description=API_DESCRIPTION,
                  openapi_url="/api/v1/openapi.json", docs_url=None, redoc_url=None, lifespan=_lifespan)
    app.state.settings = settings
    app.state.engine = engine or make_engine(settings.database_url)
    app.add_middleware(SessionMiddleware, secret_key=settings.secret_key, session_cookie="caliper_session",
                       max_age=settings.session_max_age, same_site="lax",
                       https_only=settings.https_only_cookies)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_upload_bytes)
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    errors.install(app)
    _include_routers(app)
    return app


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Starts the sampling scheduler with the server (not in tests, which run it by hand)."""
    scheduler = None
    if app.state.settings.sampling_scheduler:
        from qa.assignments.scheduler import Scheduler

        scheduler = Scheduler(app.state.engine)
        scheduler.start()
    try:
        yield
    finally:
        if scheduler is not None:
            scheduler.stop()


def _include_routers(app: FastAPI) -> None:
    from qa import org_settings_pages
    from qa.assignments import api as assignments_api
    from qa.assignments import pages as assignments_pages
    from qa.auth import api as auth_api
    from qa.auth import pages as auth_pages
    from qa.coaching import dispute_api, dispute_pages, session_api, session_pages
    from qa.conversations import api as conversations_api
    from qa.conversations import pages as conversations_pages
    from qa.coverage import api as coverage_api
    from qa.coverage import pages as coverage_pages
    from qa.notifications import pages as notification_pages
    from qa.reporting import dashboard_api, dashboard_pages, report_api, report_pages
    from qa.reviews import api as reviews_api
    from qa.reviews import pages as reviews_pages
    from qa.scorecard_admin import api as scorecards_api
    from qa.scorecard_admin import editor_pages as scorecard_editor_pages
    from qa.scorecard_admin import pages as scorecards_pages

    pages = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)  # OpenAPI is the API
    for module in (auth_pages, reviews_pages, conversations_pages, scorecards_pages, assignments_pages,
                   scorecard_editor_pages, coverage_pages, report_pages, dashboard_pages, dispute_pages,
                   session_pages, notification_pages, org_settings_pages):
        pages.include_router(module.router)
    api = APIRouter(prefix="/api/v1")
    for module in (auth_api, conversations_api, reviews_api, scorecards_api, assignments_api, coverage_api,
                   report_api, dashboard_api, dispute_api, session_api):
        api.include_router(module.router)
    from qa.calibration import api as calibration_api
    from qa.calibration import pages as calibration_pages

    pages.include_router(calibration_pages.router)  # issue 6: calibration sessions
    api.include_router(calibration_api.router)
    from qa.calibration import grader_pages, leniency_pages, stats_api, trend_pages

    for module in (grader_pages, leniency_pages, trend_pages):  # issue 6: grader QA, leniency, trends
        pages.include_router(module.router)
    api.include_router(stats_api.router)
    app.include_router(pages)
    app.include_router(api)
    app.add_api_route("/openapi.json", lambda: app.openapi(), include_in_schema=False)
