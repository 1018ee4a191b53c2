"""Imports from the upload page, run as background jobs with their progress in the database.

The page stores the uploaded file and creates an `ImportJob`; one thread per process imports the
jobs it was handed, one at a time, through the same pipeline as `qa import`
(`ingest.import_path`: chunks committed as they go, so an interrupted import leaves only whole
conversations and can simply be run again). Progress is written to the job row at most every
HEARTBEAT_SECONDS, so any process (several workers behind a load balancer) can show it.

A job whose process died (a restart, a crash) stops beating: a `running` job silent for more than
STALE_SECONDS is shown as interrupted, with the advice to upload the file again; so is a job still
queued after QUEUED_STALE_SECONDS. (The stored upload of such a job stays in UPLOAD_DIR.)
"""

from __future__ import annotations

import csv
import io
import logging
import shutil
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from qa.audit import service as audit
from qa.conversations import ingest
from qa.db import session_scope
from qa.errors import CaliperError, Forbidden, NotFound
from qa.models import ImportJob, JobStatus, Role, User, utcnow
from qa.spreadsheet import spreadsheet_safe

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 1.0
STALE_SECONDS = 60
QUEUED_STALE_SECONDS = 6 * 3600  # a job waits behind this process's other imports, but not for ever
UPLOAD_DIR = Path(tempfile.gettempdir()) / "caliper-uploads"
IMPORT_ROLES = frozenset({Role.admin, Role.manager})
RECENT_JOBS = 20

_executor_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None


@dataclass(frozen=True)
class JobView:
    """What the pages show of a job: the row, its effective status and how far it is."""

    job: ImportJob
    status: JobStatus
    percent: int | None

    @property
    def finished(self) -> bool:
        """Whether the job will not change any more."""
        return self.status in (JobStatus.done, JobStatus.failed, JobStatus.interrupted)


def view(job: ImportJob, now: datetime | None = None) -> JobView:
    """The job as a page shows it; a running job that stopped beating reads as interrupted."""
    now = now or utcnow()
    status = job.status
    if status is JobStatus.running and job.heartbeat_at and now - job.heartbeat_at > timedelta(
            seconds=STALE_SECONDS):
        status = JobStatus.interrupted
    elif status is JobStatus.queued and now - job.created_at > timedelta(seconds=QUEUED_STALE_SECONDS):
        status = JobStatus.interrupted  # its process stopped before starting it
    percent = None
    if status is JobStatus.done:
        percent = 100
    elif job.total_bytes:
        percent = min(99, int(100 * job.bytes_read / job.total_bytes))
    return JobView(job, status, percent)


def _require_importer(actor: User) -> None:
    if actor.role not in IMPORT_ROLES:
        raise Forbidden("Only admins and managers may import conversations.")


def create_job(
    session: Session, *, actor: User, upload: BinaryIO, filename: str, fmt: str, source: str | None,
    csv_mapping: dict[str, str] | None, upload_dir: Path = UPLOAD_DIR,
) -> ImportJob:
    """Store the uploaded file and queue its import (start it with `start`)."""
    _require_importer(actor)
    ingest.converter_for(fmt)  # an unknown format is refused before the file is stored
    upload_dir.mkdir(parents=True, exist_ok=True)
    stored = upload_dir / f"{uuid.uuid4().hex}.upload"
    with stored.open("wb") as out:
        shutil.copyfileobj(upload, out, 1 << 20)
    job = ImportJob(created_by=actor.id, format=fmt, source=source, csv_mapping=csv_mapping,
                    filename=Path(filename).name[:255] or "upload", stored_path=str(stored),
                    total_bytes=stored.stat().st_size)
    session.add(job)
    session.flush()
    return job


def start(engine: Engine, job_id: int) -> None:
    """Hand the job to this process's import thread (jobs run one at a time, in order)."""
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="caliper-import")
        _executor.submit(run, engine, job_id)


def run(engine: Engine, job_id: int) -> None:
    """Import one queued job now, recording progress, the outcome and the rejected records."""
    with session_scope(engine) as session:
        job = session.get(ImportJob, job_id)
        if job is None or job.status is not JobStatus.queued:
            return
        job.status, job.started_at, job.heartbeat_at = JobStatus.running, utcnow(), utcnow()
        path, fmt, source, mapping = job.stored_path, job.format, job.source, job.csv_mapping
    last_beat = time.monotonic()

    def progress(result: ingest.ImportResult) -> None:
        nonlocal last_beat
        if time.monotonic() - last_beat < HEARTBEAT_SECONDS:
            return
        last_beat = time.monotonic()
        _save(engine, job_id, result, status=JobStatus.running)

    try:
        result = ingest.import_path(engine, path or "", fmt=fmt, source=source, csv_mapping=mapping,
                                    progress=progress)
    except (CaliperError, OSError) as exc:
        _fail(engine, job_id, getattr(exc, "message", None) or str(exc))
    except Exception:
        log.exception("import job %s failed", job_id)
        _fail(engine, job_id, "The import stopped on an unexpected error; what was imported is kept. "
                              "Try again, or import the file with `qa import` to see the details.")
    else:
        _save(engine, job_id, result, status=JobStatus.done)
    finally:
        if path:
            Path(path).unlink(missing_ok=True)


def _save(engine: Engine, job_id: int, result: ingest.ImportResult, *, status: JobStatus) -> None:
    with session_scope(engine) as session:
        job = session.get(ImportJob, job_id)
        if job is None:
            return
        job.status, job.heartbeat_at = status, utcnow()
        job.bytes_read = result.bytes_read or job.bytes_read
        job.created, job.updated, job.rejected = result.created, result.updated, result.rejected_count
        if status is JobStatus.done:
            job.bytes_read, job.finished_at = job.total_bytes, utcnow()
            job.rejections = [{"index": r.index, "line": r.line, "error": r.error} for r in result.rejected]
            job.stored_path = None
            actor = session.get(User, job.created_by) if job.created_by else None
            audit.record(session, actor=actor, action="conversations.import", entity="import_job",
                         entity_id=job.id, after={"via": "upload", "format": job.format, "file": job.filename,
                                                   "created": job.created, "updated": job.updated,
                                                   "rejected": job.rejected})


def _fail(engine: Engine, job_id: int, error: str) -> None:
    with session_scope(engine) as session:
        job = session.get(ImportJob, job_id)
        if job is not None:
            job.status, job.error, job.finished_at, job.stored_path = JobStatus.failed, error, utcnow(), None


def recent_jobs(session: Session, *, actor: User, limit: int = RECENT_JOBS) -> list[JobView]:
    """The newest jobs the actor may see: an admin's are everyone's, a manager's their own."""
    _require_importer(actor)
    query = select(ImportJob).order_by(col(ImportJob.id).desc()).limit(limit)
    if actor.role is not Role.admin:
        query = query.where(col(ImportJob.created_by) == actor.id)
    now = utcnow()
    return [view(job, now) for job in session.exec(query)]


def get_job(session: Session, *, actor: User, job_id: Any) -> JobView:
    """One job the actor may see; NotFound for unknown ids and other managers' jobs alike."""
    _require_importer(actor)
    try:
        ident = int(job_id)
    except (TypeError, ValueError):
        raise NotFound(f"Import {job_id} not found.") from None
    job = session.get(ImportJob, ident) if 0 < ident < 2**63 else None
    if job is None or (actor.role is not Role.admin and job.created_by != actor.id):
        raise NotFound(f"Import {job_id} not found.")
    return view(job)


def rejections_csv(job: ImportJob) -> str:
    """The rejected records as CSV: record index, line, reason.

    A reason can quote the uploaded file, so one that a spreadsheet would read as a formula
    (=, +, -, @, tab, CR) is prefixed with an apostrophe (OWASP's advice on CSV injection).
    """
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["record", "line", "reason"])
    for item in job.rejections:
        line = item.get("line")
        reason = spreadsheet_safe(str(item.get("error") or ""))
        writer.writerow([item.get("index"), "" if line is None else line, reason])
    return out.getvalue()

