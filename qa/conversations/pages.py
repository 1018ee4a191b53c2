"""The conversation import page: upload a native JSON or JSON Lines file and see what was imported."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from starlette.responses import Response

from qa.auth.deps import ManagerUser, SessionDep
from qa.conversations import ingest
from qa.conversations import service as conversation_service
from qa.web.htmx import is_htmx
from qa.web.templates import render

router = APIRouter(include_in_schema=False)  # HTML pages: not part of the public API

SHOWN_REJECTIONS = 20
UploadField = Annotated[UploadFile | None, File()]


def _context(**values: Any) -> dict[str, Any]:
    formats = [fmt.value for fmt in ingest.CONVERTERS]
    base: dict[str, Any] = {"active_nav": "import", "formats": formats, "format": "native", "source": "",
                            "result": None, "error": None, "filename": None, "shown": SHOWN_REJECTIONS}
    return {**base, **values}


def _respond(request: Request, ctx: dict[str, Any], status_code: int = 200) -> Response:
    # htmx swaps only the result region; a plain form post gets the whole page back.
    name = "conversations/_import_result.html" if is_htmx(request) else "conversations/import.html"
    return render(request, name, ctx, status_code=status_code)


@router.get("/conversations/import", name="conversations:import")
def import_page(request: Request, user: ManagerUser) -> Response:
    """The upload form."""
    return render(request, "conversations/import.html", _context())


@router.post("/conversations/import", name="conversations:import_submit")
def import_submit(
    request: Request,
    session: SessionDep,
    user: ManagerUser,
    file: UploadField = None,
    format: Annotated[str, Form(max_length=20)] = "native",
    source: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Import the uploaded file and show the counts and the first rejected records."""
    ctx = _context(format=format, source=source)
    if file is None or not file.filename:
        return _respond(request, {**ctx, "error": "Choose a JSON or JSON Lines file to import."}, 422)
    ctx["filename"] = file.filename
    ingest.converter_for(format)  # an unknown or unsupported format is refused (400) before reading
    records = ingest.read_file_records(file.file)
    result = conversation_service.import_conversations(
        session, actor=user, records=records, fmt=format, source=source.strip() or None, via="upload"
    )
    return _respond(request, {**ctx, "result": result})
