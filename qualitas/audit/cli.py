"""``qualitas audit verify | list | sign-pack``.

Mounted by ``qualitas/cli.py`` through its ``PLUGINS`` list (``register(app)``).
``verify`` exits 0 when the trail is intact and with the ``AuditTamperedError`` code
from ``qualitas.errors.ERROR_TABLE`` otherwise, naming the line and the problem, so a
cron job or CI step can watch the trail.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from qualitas.errors import AuditTamperedError, InputError

if TYPE_CHECKING:
    from qualitas.audit import AuditLog

audit_app = typer.Typer(help="The audit trail (21 CFR 11.10(e)) and pack signatures (11.50).", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
LogOpt = Annotated[
    Path | None,
    typer.Option("--log", help="Audit log (default: $QUALITAS_AUDIT_LOG or <store parent>/audit/audit.jsonl)."),
]


def _log(path: Path | None) -> AuditLog:
    from qualitas import cli as root
    from qualitas.audit import AuditLog, open_audit_log

    settings = root._settings()
    return AuditLog(path, secret=settings.signing_secret()) if path is not None else open_audit_log(settings)


def _reconcile(trail: AuditLog) -> None:
    """Write the records of changes a crash or a full disk left pending (see
    ``qualitas.audit._pending``); a read-only view of the store is enough, so this works
    beside a running server."""
    from qualitas import cli as root
    from qualitas.audit import pending, reconcile
    from qualitas.store import open_store

    if not any(True for _ in pending(trail)):
        return
    settings = root._settings()
    if isinstance(settings.store, Path) and not (settings.store / "CURRENT").exists():
        return
    store = open_store(settings.store, read_only=True)
    try:
        reconcile(trail, store)
    finally:
        store.close()


@audit_app.command("verify")
def verify(log: LogOpt = None, json_out: JsonOpt = False) -> None:
    """Check every record's hash, the chain and the keyed head anchor."""
    from qualitas import cli as root

    def action() -> None:
        trail = _log(log)
        _reconcile(trail)
        result = trail.verify()
        if json_out:
            root._print_json(result)
        if not result.ok:
            problem = result.problem
            raise AuditTamperedError(
                result.summary(), line=problem.line if problem else None, kind=problem.kind if problem else None
            )
        if not json_out:
            root.out.print(result.summary(), highlight=False)

    root._run(action)


@audit_app.command("list")
def list_records(
    actor: Annotated[str | None, typer.Option("--actor", help="Only this actor's records.")] = None,
    action: Annotated[str | None, typer.Option("--action", help="Only this action (or dotted prefix).")] = None,
    since: Annotated[str | None, typer.Option("--since", help="From this time (ISO 8601).")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many records.")] = 100,
    log: LogOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """List audit records, oldest first."""
    from rich.table import Table

    from qualitas import cli as root

    def command() -> None:
        try:
            start = dt.datetime.fromisoformat(since) if since else None
        except ValueError as exc:
            raise InputError(f"--since: not an ISO 8601 time: {since!r}") from exc
        records = _log(log).records(actor=actor, action=action, since=start, limit=limit)
        if json_out:
            sys.stdout.write(json.dumps([r.as_dict() for r in records], ensure_ascii=False, indent=2) + "\n")
            return
        table = Table("seq", "at", "actor", "action", "why", "hash")
        for r in records:
            table.add_row(
                str(r.seq), r.at, r.actor + (f" ({r.role})" if r.role else ""), r.action, r.why or "", r.hash[:12]
            )
        root.out.print(table)

    root._run(command)


@audit_app.command("sign-pack")
def sign_pack_command(
    pack_id: Annotated[str, typer.Argument(help="The pack to sign (its id, as in <id>.zip).")],
    meaning: Annotated[str, typer.Option("--meaning", help="authorship, review, approval or responsibility.")],
    signer: Annotated[
        str | None, typer.Option("--signer", help="Signer's printed name (default: $QUALITAS_AGENT or the OS user).")
    ] = None,
    reason: Annotated[str | None, typer.Option("--reason", help="Why (recorded in the trail).")] = None,
    packs: Annotated[
        Path | None,
        typer.Option("--dir", help="Directory holding the pack ZIP (default: the server's packs directory)."),
    ] = None,
    log: LogOpt = None,
) -> None:
    """Sign a pack electronically (21 CFR 11.50: printed name, date and time, meaning)."""
    from qualitas import cli as root
    from qualitas.audit import SignatureMeaning, sign_pack
    from qualitas.doc_templates.pack import pack_path
    from qualitas.errors import NotFoundError
    from qualitas.graphql.packs import packs_dir

    def command() -> None:
        try:
            what = SignatureMeaning(meaning.lower())
        except ValueError:
            raise InputError(f"--meaning: expected one of {', '.join(m.value for m in SignatureMeaning)}") from None
        settings = root._settings()
        directory = packs if packs is not None else packs_dir(settings)
        path = pack_path(directory, pack_id)
        if not path.is_file():
            raise NotFoundError(f"no pack {pack_id!r} in {directory}", pack=pack_id)
        signature = sign_pack(_log(log), path, signer=signer or root._agent(settings), meaning=what, reason=reason)
        root.out.print(
            f"{signature.manifestation} (audit record {signature.audit_seq}, {signature.audit_hash[:12]})",
            highlight=False,
        )

    root._run(command)


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")
