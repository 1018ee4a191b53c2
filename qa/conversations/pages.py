"""The import page: upload a file (native, Zendesk, Intercom, Freshdesk or CSV), imported as a background
job whose progress, summary and rejected records the page shows."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from starlette.responses import RedirectResponse, Response

from qa.auth.deps import ManagerUser, SessionDep
from qa.conversations import jobs
from qa.conversations.formats import csv_rows
from qa.conversations.schemas import ImportFormat
from qa.errors import InvalidInput
from qa.web.htmx import hx_redirect, is_htmx
from qa.web.templates import render

router = APIRouter(include_in_schema=False)  # HTML pages: not part of the public API

SHOWN_REJECTIONS = 20
UploadField = Annotated[UploadFile | None, File()]
FORMAT_LABELS = {"native": "Caliper (native JSON)", "zendesk": "Zendesk", "intercom": "Intercom",
                 "freshdesk": "Freshdesk", "csv": "CSV"}


def _form_context(session: Any, user: Any, **values: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "active_nav": "import", "formats": [(f.value, FORMAT_LABELS[f.value]) for f in ImportFormat],
        "format": "native", "source": "", "mapping": "", "error": None,
        "csv_fields": csv_rows.FIELDS, "jobs": jobs.recent_jobs(session, actor=user),
    }
    return {**base, **values}


@router.get("/conversations/import", name="conversations:import")
def import_page(request: Request, session: SessionDep, user: ManagerUser) -> Response:
    """The upload form and the latest imports."""
    return render(request, "conversations/import.html", _form_context(session, user))


@router.post("/conversations/import", name="conversations:import_submit")
def import_submit(
    request: Request,
    session: SessionDep,
    user: ManagerUser,
    file: UploadField = None,
    format: Annotated[str, Form(max_length=20)] = "native",  # noqa: A002 - the form field's name
    source: Annotated[str, Form(max_length=100)] = "",
    mapping: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """Store the file, start importing it in the background and go to its progress page."""
    ctx = _form_context(session, user, format=format, source=source, mapping=mapping)
    try:
        if file is None or not file.filename:
            raise InvalidInput("Choose a file to import.", field="file")
        if format not in FORMAT_LABELS:
            raise InvalidInput(f"Unknown format {format!r}.", field="format")
        csv_mapping = csv_rows.parse_mapping(mapping) if format == "csv" and mapping.strip() else None
        job = jobs.create_job(session, actor=user, upload=file.file, filename=file.filename, fmt=format,
                              source=source.strip() or None, csv_mapping=csv_mapping)
    except InvalidInput as exc:
        return render(request, "conversations/import.html", {**ctx, "error": exc.message}, status_code=422)
    session.commit()  # the import thread reads the job from its own connection
    jobs.start(request.app.state.engine, job.id or 0)
    url = str(request.url_for("conversations:job", job_id=job.id))
    return hx_redirect(request, url) if is_htmx(request) else RedirectResponse(url, status_code=303)


@router.get("/conversations/import/jobs/{job_id}", name="conversations:job")
def job_page(request: Request, job_id: str, session: SessionDep, user: ManagerUser) -> Response:
    """An import's progress (htmx polls the progress part until it finishes), then its summary."""
    ctx = {"v": jobs.get_job(session, actor=user, job_id=job_id), "active_nav": "import",
           "shown": SHOWN_REJECTIONS, "format_labels": FORMAT_LABELS}
    if is_htmx(request):
        return render(request, "conversations/_job_progress.html", ctx)
    return render(request, "conversations/job.html", ctx)


@router.get("/conversations/import/jobs/{job_id}/rejections.csv", name="conversations:job_rejections")
def job_rejections(job_id: str, session: SessionDep, user: ManagerUser) -> Response:
    """The rejected records of an import, with their reasons, as a CSV download."""
    job = jobs.get_job(session, actor=user, job_id=job_id).job
    name = f"import-{job.id}-rejected.csv"
    return Response(jobs.rejections_csv(job), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
