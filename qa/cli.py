"""The `qa` command line: database, server, demo data, users, tokens and imports."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from qa.db import make_engine, session_scope
from qa.errors import CaliperError
from qa.settings import Settings, get_settings


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code (non-zero with a one-line reason on failure)."""
    parser = _parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace, Settings], int] | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        return handler(args, get_settings())
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # every failure ends as one line on stderr, never a traceback
        print(f"qa: {_reason(exc)}", file=sys.stderr)
        return 1


def _reason(exc: Exception) -> str:
    """A one-line explanation of why a command failed."""
    from alembic.util import CommandError
    from pydantic import ValidationError
    from sqlalchemy.exc import SQLAlchemyError

    if isinstance(exc, CaliperError):
        return exc.message
    if isinstance(exc, ValidationError):
        # Only the messages: input values could include SECRET_KEY or a database password.
        problems = [str(err["msg"]).removeprefix("Value error, ") for err in exc.errors()]
        return "invalid settings: " + "; ".join(problems)
    if isinstance(exc, SQLAlchemyError):
        cause = getattr(exc, "orig", None) or exc
        return "database error: " + _first_line(str(cause))
    if isinstance(exc, CommandError | OSError | ValueError):
        return _first_line(str(exc))
    return f"unexpected {type(exc).__name__}: {_first_line(str(exc))}"


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "(no details)"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qa", description="Caliper: QA reviews for support teams.")
    sub = parser.add_subparsers(metavar="COMMAND")

    db = sub.add_parser("db", help="database schema").add_subparsers(metavar="ACTION")
    upgrade = db.add_parser("upgrade", help="create or migrate the database to the latest schema")
    upgrade.set_defaults(handler=cmd_db_upgrade)

    serve = sub.add_parser("serve", help="run the web app (migrating first)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--reload", action="store_true",
                       help="restart when code or a template changes (development)")
    serve.set_defaults(handler=cmd_serve)

    demo = sub.add_parser("demo", help="load the demo organisation and data")
    demo.add_argument("--reset", action="store_true", help="delete the SQLite file first (SQLite only)")
    demo.set_defaults(handler=cmd_demo)

    users = sub.add_parser("users", help="manage users").add_subparsers(metavar="ACTION")
    create = users.add_parser("create", help="create a user")
    create.add_argument("email")
    create.add_argument("--role", required=True, choices=["admin", "manager", "reviewer", "agent"])
    create.add_argument("--password", required=True)
    create.add_argument("--name")
    create.add_argument("--team")
    create.add_argument("--agent-external-id")
    create.set_defaults(handler=cmd_users_create)

    tokens = sub.add_parser("tokens", help="manage API tokens").add_subparsers(metavar="ACTION")
    token_create = tokens.add_parser("create", help="create an API token (printed alone on the last line)")
    token_create.add_argument("email")
    token_create.add_argument("--name", default="cli")
    token_create.set_defaults(handler=cmd_tokens_create)

    imp = sub.add_parser("import", help="import conversations from a file")
    imp.add_argument("file")
    imp.add_argument("--format", default="native",
                     choices=["native", "zendesk", "intercom", "freshdesk", "csv"])
    imp.add_argument("--source", help="the source of records that name none (default: import)")
    imp.add_argument("--map", dest="mapping", metavar="FIELD=COLUMN,...",
                     help="CSV: which column holds each field, e.g. conversation_id=Ticket,body=Text "
                          "(common column names are found without it)")
    imp.add_argument("--no-progress", action="store_true", help="no progress bar on the terminal")
    imp.set_defaults(handler=cmd_import)

    sample = sub.add_parser("sample", help="sampling rules: create, list and run them").add_subparsers(
        metavar="ACTION")
    sample_run = sample.add_parser("run", help="run a stored rule (--rule ID) or a rule file (JSON or YAML)")
    which = sample_run.add_mutually_exclusive_group(required=True)
    which.add_argument("file", nargs="?", help="a rule file in the native format")
    which.add_argument("--rule", type=int, metavar="ID", help="the id of a stored rule")
    sample_run.add_argument("--as", dest="actor", metavar="EMAIL",
                            help="run as this manager or admin "
                                 "(default: the rule's author, else the first admin)")
    sample_run.set_defaults(handler=cmd_sample_run)
    sample_create = sample.add_parser("create", help="store a rule from a file (JSON or YAML)")
    sample_create.add_argument("file")
    sample_create.add_argument("--as", dest="actor", metavar="EMAIL",
                               help="its author (default: the first admin)")
    sample_create.set_defaults(handler=cmd_sample_create)
    sample_list = sample.add_parser("list", help="list the stored rules")
    sample_list.set_defaults(handler=cmd_sample_list)
    sample_due = sample.add_parser("scheduled",
                                   help="run the scheduled rules whose period has not run yet and expire "
                                        "overdue assignments (what the app does every minute; for cron)")
    sample_due.set_defaults(handler=cmd_sample_scheduled)
    reports = sub.add_parser("reports", help="report summaries").add_subparsers(metavar="ACTION")
    rebuild = reports.add_parser("rebuild", help="recompute the report summaries from the ratings (after "
                                                 "writing reviews or ratings with SQL outside the app)")
    rebuild.set_defaults(handler=cmd_reports_rebuild)
    return parser


def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    """qa db upgrade."""
    from qa.migrations import upgrade

    upgrade(settings.database_url)
    print("database is at the latest schema")
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    """qa serve: migrate, then run uvicorn."""
    import uvicorn

    from qa.migrations import upgrade

    upgrade(settings.database_url)
    print(f"Caliper is running on http://{args.host}:{args.port}/  (Ctrl+C to stop)", flush=True)
    reload: dict[str, Any] = {}
    if args.reload:  # templates are read once per process, so a changed one needs a restart too
        root = Path(__file__).resolve().parents[1]
        dirs = [str(root / name) for name in ("qa", "scorecards", "sampling", "templates")]
        reload = {"reload": True, "reload_dirs": dirs, "reload_includes": ["*.py", "*.html"]}
    uvicorn.run("qa.app:create_app", factory=True, host=args.host, port=args.port,
                workers=None if args.reload else args.workers, log_level="warning", proxy_headers=True,
                **reload)
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    """qa demo: load the demo organisation, conversations, scorecard and reviews; print the logins."""
    from qa.demo import loader
    from qa.migrations import upgrade

    if args.reset:
        loader.reset_sqlite(settings.database_url)
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    with session_scope(engine) as session:
        summary = loader.load_demo(session)
    engine.dispose()
    print(summary.describe())
    return 0


def cmd_users_create(args: argparse.Namespace, settings: Settings) -> int:
    """qa users create EMAIL --role R --password PW."""
    from qa.auth import service as auth_service

    engine = make_engine(settings.database_url)
    with session_scope(engine) as session:
        user = auth_service.create_user(session, actor=None, email=args.email, role=args.role,
                                        password=args.password, name=args.name, team=args.team,
                                        agent_external_id=args.agent_external_id)
        print(f"created {user.role.value} {user.email} (id {user.id})")
    engine.dispose()
    return 0


def cmd_tokens_create(args: argparse.Namespace, settings: Settings) -> int:
    """qa tokens create EMAIL: prints the token alone on the last line."""
    from sqlmodel import select

    from qa.auth import tokens
    from qa.errors import NotFound
    from qa.models import User

    engine = make_engine(settings.database_url)
    with session_scope(engine) as session:
        user = session.exec(select(User).where(User.email == args.email.strip().lower())).first()
        if user is None:
            raise NotFound(f"no user with e-mail {args.email}")
        plaintext = tokens.create_token(session, actor=None, user=user, name=args.name)
    engine.dispose()
    print(f"API token for {user.email} ({user.role.value}); it is shown only once:")
    print(plaintext)
    return 0


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    """qa import FILE [--format F]: prints created / updated / rejected."""
    from qa.conversations import ingest
    from qa.conversations.formats import csv_rows

    mapping = csv_rows.parse_mapping(args.mapping) if args.mapping else None
    engine = make_engine(settings.database_url)
    with _progress_bar(args.file, disabled=args.no_progress) as progress:
        result = ingest.import_path(engine, args.file, fmt=args.format, source=args.source,
                                    csv_mapping=mapping, progress=progress)
    engine.dispose()
    print(result.describe())
    return 0 if result.created or result.updated or not result.rejected else 1


@contextmanager
def _progress_bar(path: str, *, disabled: bool) -> Iterator[Callable[[Any], None]]:
    """A tqdm bar on stderr following the bytes read (only on a terminal, unless disabled)."""
    from tqdm import tqdm

    bar = tqdm(total=None, unit="B", unit_scale=True, unit_divisor=1024, desc=Path(path).name,
               disable=disabled or not sys.stderr.isatty(), dynamic_ncols=True)

    def update(result: Any) -> None:
        if bar.total is None and result.total_bytes:
            bar.total = result.total_bytes
        bar.update(result.bytes_read - bar.n)
        bar.set_postfix(created=result.created, updated=result.updated, rejected=result.rejected_count,
                        refresh=False)

    with bar:
        yield update


MAX_RULE_FILE_BYTES = 1024 * 1024


def _rule_file(path: str) -> Any:
    """A rule file's content (JSON is read as YAML, which it is); a one-line reason when unreadable."""
    import yaml

    from qa.errors import InvalidInput

    file = Path(path)
    if file.stat().st_size > MAX_RULE_FILE_BYTES:
        raise InvalidInput(f"{path} is larger than 1 MB; a rule is a small JSON or YAML object.")
    try:
        return yaml.safe_load(file.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{path} is not JSON or YAML: {_first_line(str(exc))}") from None


def _acting_user(session: Any, email: str | None, fallback_id: int | None = None) -> Any:
    from sqlmodel import col, select

    from qa.errors import NotFound
    from qa.models import Role, User

    if email:
        user = session.exec(select(User).where(User.email == email.strip().lower())).first()
        if user is None:
            raise NotFound(f"no user with e-mail {email}")
        return user
    author = session.get(User, fallback_id) if fallback_id is not None else None
    if author is not None and author.is_active:
        return author
    admin = session.exec(select(User).where(User.role == Role.admin, col(User.is_active))
                         .order_by(col(User.id))).first()
    if admin is None:
        raise NotFound("no admin to run as; pass --as EMAIL")
    return admin


def _describe_run(run: Any) -> str:
    lines = [f"run {run.id} (period {run.period_key}): {run.message}"]
    short = [a for a in run.per_agent if a["got"] + a["backup"] < a["wanted"]]
    for row in short[:20]:
        lines.append(f"  short: {row['agent']}: {row['got'] + row['backup']} of {row['wanted']} "
                     f"({row['matched']} matched)")
    if len(short) > 20:
        lines.append(f"  ... and {len(short) - 20} more agents short")
    for row in run.per_reviewer:
        lines.append(f"  reviewer {row['name'] or row['reviewer_id']}: {row['assigned']} assigned")
    return "\n".join(lines)


def cmd_sample_run(args: argparse.Namespace, settings: Settings) -> int:
    """qa sample run FILE | --rule ID: prints what the run matched, picked and assigned."""
    from qa.assignments import service as sampling_service
    from qa.models import SamplingRule

    engine = make_engine(settings.database_url)
    with session_scope(engine) as session:
        if args.rule is not None:
            row = session.get(SamplingRule, args.rule)
            actor = _acting_user(session, args.actor, row.created_by_id if row else None)
            run = sampling_service.run_stored_rule(session, actor=actor, rule_id=args.rule, trigger="cli")
        else:
            rule = sampling_service.parse(_rule_file(args.file))
            actor = _acting_user(session, args.actor)
            run = sampling_service.run_rule(session, actor=actor, rule=rule, trigger="cli")
        session.flush()
        print(_describe_run(run))
    engine.dispose()
    return 0


def cmd_sample_create(args: argparse.Namespace, settings: Settings) -> int:
    """qa sample create FILE: stores the rule and prints its id."""
    from qa.assignments import service as sampling_service

    engine = make_engine(settings.database_url)
    with session_scope(engine) as session:
        rule = sampling_service.parse(_rule_file(args.file))
        row = sampling_service.create_rule(session, actor=_acting_user(session, args.actor), rule=rule)
        print(f"created sampling rule {row.id}: {row.name} ({row.period})")
    engine.dispose()
    return 0


def cmd_sample_list(args: argparse.Namespace, settings: Settings) -> int:
    """qa sample list: one line per rule."""
    from sqlmodel import col, select

    from qa.models import SamplingRule

    engine = make_engine(settings.database_url)
    with session_scope(engine, write=False) as session:
        rows = session.exec(select(SamplingRule).order_by(col(SamplingRule.id))).all()
        for row in rows:
            state = "active" if row.active else "paused"
            print(f"{row.id}\t{row.name}\t{row.period}\t{state}")
        if not rows:
            print("no sampling rules")
    engine.dispose()
    return 0


def cmd_sample_scheduled(args: argparse.Namespace, settings: Settings) -> int:
    """qa sample scheduled: one scheduler tick."""
    from qa.assignments.scheduler import tick

    engine = make_engine(settings.database_url)
    result = tick(engine)
    engine.dispose()
    print(f"{len(result.runs)} scheduled runs, {len(result.failed)} failed, "
          f"{result.expired} assignments expired")
    return 1 if result.failed else 0


def cmd_reports_rebuild(args: argparse.Namespace, settings: Settings) -> int:
    """qa reports rebuild: fill Review's copied columns where missing and recompute criterion_day."""
    from qa.reporting import rollup

    engine = make_engine(settings.database_url)
    with engine.begin() as connection:
        rollup.fill_review_columns(connection)
        rows = rollup.rebuild(connection)
    engine.dispose()
    print(f"report summaries rebuilt: {rows} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
