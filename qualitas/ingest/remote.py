"""Hand files to a running server: what ``qualitas load`` does while ``qualitas serve``
holds the store open for writing (a store has one writer).

Layers::

    qualitas load ── ServerNote (<store>.serve.json: url, pid, ingest folder, written by `qualitas serve`)
                  ├── stage: each file linked (or copied) into <ingest folder>/.qualitas-cli/<job>/
                  ├── loadFiles mutation (GraphQL over HTTP, `Authorization: Bearer <API key>`),
                  │     with each file's source named as a local load would name it (its absolute path)
                  └── loadJob polled for per-file progress until the job ends; staged files removed

The batches, their sources, the replace rule and the audit records are the server's,
so they are exactly what a local load would have made; the recorded agent is the API
key's user. Only the standard library is used (``urllib``), so the CLI needs no HTTP
extra.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from qualitas.errors import (
    ERROR_TABLE,
    AuthenticationError,
    ConfigError,
    QualitasError,
    StoreError,
)

__all__ = ["RemoteFile", "ServerNote", "announce", "load_via_server", "running_server", "withdraw"]

#: The folder inside the server's ingest folder where the CLI stages files.
STAGING = ".qualitas-cli"
#: How often the job is polled for progress.
POLL_S = 0.2

_JOB_FIELDS = (
    "id state error files { file phase format status graph triples previousTriples "
    "bytesDone bytesTotal message errorCode }"
)
_LOAD = (
    "mutation ($files: [String!]!, $sources: [String!], $format: String, $dryRun: Boolean!, $replace: Boolean!, "
    "$reason: String) { loadFiles(files: $files, sources: $sources, format: $format, dryRun: $dryRun, "
    f"replace: $replace, reason: $reason) {{ {_JOB_FIELDS} }} }}"
)
_JOB = f"query ($id: String!) {{ loadJob(id: $id) {{ {_JOB_FIELDS} }} }}"


@dataclass(frozen=True)
class ServerNote:
    """A running ``qualitas serve``: where it listens and where its ingest folder is."""

    url: str
    pid: int
    ingest_dir: Path | None


@dataclass(frozen=True)
class RemoteFile:
    """What the server did with one file (the shape of a local ``LoadResult`` or ``PlannedLoad``)."""

    source: str
    status: str
    triples: int
    previous_triples: int = 0
    graph: str | None = None
    format: str | None = None
    message: str | None = None
    error_code: str | None = None  # status "failed": the GraphQL error code of the failure


def note_path(store: Path) -> Path:
    """``<store>.serve.json``, beside the store directory."""
    store = Path(store).resolve()
    return store.with_name(store.name + ".serve.json")


def announce(store: Path, *, url: str, ingest_dir: Path | None) -> Path:
    """Written by ``qualitas serve`` when it starts, so ``qualitas load`` can find it."""
    path = note_path(store)
    data = {"url": url, "pid": os.getpid(), "ingestDir": str(Path(ingest_dir).resolve()) if ingest_dir else None}
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def withdraw(store: Path) -> None:
    """Removed by ``qualitas serve`` when it stops (only its own note)."""
    path = note_path(store)
    with contextlib.suppress(OSError, ValueError):
        if json.loads(path.read_text(encoding="utf-8")).get("pid") == os.getpid():
            path.unlink()


def running_server(store: Path) -> ServerNote | None:
    """The server that announced itself for ``store``, if its process still runs."""
    try:
        data = json.loads(note_path(store).read_text(encoding="utf-8"))
        note = ServerNote(
            url=str(data["url"]).rstrip("/"),
            pid=int(data["pid"]),
            ingest_dir=Path(data["ingestDir"]) if data.get("ingestDir") else None,
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
    try:
        os.kill(note.pid, 0)
    except ProcessLookupError:
        return None  # a server that died without cleaning up
    except PermissionError:
        pass  # alive, another user's
    return note


# ---------------------------------------------------------------- the client


_BY_CODE = {mapping.graphql_code: cls for cls, mapping in reversed(list(ERROR_TABLE.items()))}


def remote_error(code: str | None, message: str) -> QualitasError:
    """The error class the server's GraphQL error code stands for (so the exit code is
    the one a local run would give)."""
    cls = _BY_CODE.get(code or "", QualitasError)
    try:
        return cls(message)
    except TypeError:  # MissingExtraError takes other arguments
        return QualitasError(message)


def _post(url: str, key: str, query: str, variables: dict[str, object]) -> dict[str, object]:
    body = json.dumps({"query": query, "variables": variables}).encode()
    request = urllib.request.Request(
        url + "/graphql",
        data=body,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            payload = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        try:
            payload = json.loads(exc.read())
        except ValueError:
            raise StoreError(f"the server at {url} answered HTTP {exc.code}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise StoreError(f"cannot reach the server at {url}: {exc}") from exc
    errors = payload.get("errors") if isinstance(payload, dict) else None
    if errors:
        first = errors[0]
        code = (first.get("extensions") or {}).get("code")
        raise remote_error(code, str(first.get("message")))
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), dict):
        raise StoreError(f"the server at {url} sent no data")
    return payload["data"]


@contextlib.contextmanager
def _staged(root: Path, files: Sequence[Path]) -> Iterator[list[str]]:
    """Each file linked (same file system) or copied into ``root/.qualitas-cli/<id>/``;
    yields their names relative to ``root``; removed afterwards."""
    folder = root / STAGING / uuid.uuid4().hex
    names: list[str] = []
    try:
        folder.mkdir(parents=True)
        for index, path in enumerate(files):
            target = folder / f"{index}-{path.name}"
            try:
                os.link(path, target)
            except OSError:
                shutil.copyfile(path, target)
            names.append(target.relative_to(root).as_posix())
    except OSError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        raise StoreError(f"cannot put the files into the server's ingest folder {root}: {exc}") from exc
    try:
        yield names
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def ready(note: ServerNote, api_key: str | None) -> None:
    """Raise, saying exactly what to do, unless files can be handed to the server."""
    if not api_key:
        raise AuthenticationError(
            f"the store is held by the server at {note.url} (pid {note.pid}); to load through it, give an API "
            "key of a user with the engineer, compliance or admin role, e.g. the one `make run` printed or "
            "`export QUALITAS_API_KEY=$(qualitas keys create USER --label cli)`, or pass --api-key KEY, "
            "and run this command again"
        )
    if note.ingest_dir is None or not note.ingest_dir.is_dir():
        raise ConfigError(
            f"the store is held by the server at {note.url} (pid {note.pid}), which has no ingest folder to "
            "hand files to: restart it with QUALITAS_INGEST_DIR=DIR (`make run` sets one), or stop it and "
            "run this command again"
        )


def load_via_server(
    note: ServerNote,
    files: Sequence[Path],
    *,
    api_key: str | None,
    sources: Sequence[str],
    format: str | None = None,
    dry_run: bool = False,
    replace: bool = False,
    reason: str | None = None,
    progress: Callable[[int, int, int | None], None] | None = None,
) -> list[RemoteFile]:
    """Load ``files`` through the server's ``loadFiles`` as ``sources``; ``progress`` gets
    (file index, bytes done, bytes total). A file that failed ends the list with status
    ``failed`` (``message`` names the file as the user gave it, ``error_code`` says what
    kind of error); files after it were not loaded."""
    ready(note, api_key)
    paths = [Path(p) for p in files]
    with _staged(note.ingest_dir, paths) as names:
        renames = {name: str(path) for name, path in zip(names, paths, strict=True)}

        def own(message: str | None) -> str | None:
            if message is None:
                return None
            for name, original in renames.items():
                message = message.replace(name, original)
            return message

        variables: dict[str, object] = {
            "files": names,
            "sources": list(sources),
            "format": format,
            "dryRun": dry_run,
            "replace": replace,
            "reason": reason,
        }
        job = _post(note.url, api_key, _LOAD, variables)["loadFiles"]
        assert isinstance(job, dict)
        seen: dict[int, int] = {}
        while job["state"] not in ("SUCCEEDED", "FAILED"):
            time.sleep(POLL_S)
            job = _post(note.url, api_key, _JOB, {"id": job["id"]})["loadJob"]
            assert isinstance(job, dict)
            for index, f in enumerate(job["files"]):
                if progress is not None and f["bytesDone"] != seen.get(index):
                    seen[index] = f["bytesDone"]
                    progress(index, f["bytesDone"], f["bytesTotal"])
    results: list[RemoteFile] = []
    for index, f in enumerate(job["files"]):
        if f["phase"] == "FAILED":
            message = own(f["message"]) or f"{paths[index]}: failed"
            results.append(RemoteFile(sources[index], "failed", 0, message=message, error_code=f.get("errorCode")))
            return results
        if f["status"] is None:
            continue
        results.append(
            RemoteFile(
                source=sources[index],
                status=f["status"],
                triples=f["triples"],
                previous_triples=f["previousTriples"],
                graph=f["graph"],
                format=f["format"],
                message=own(f["message"]),
            )
        )
    if job["state"] == "FAILED":
        results.append(RemoteFile("", "failed", 0, message=own(job.get("error")) or "the load job failed"))
    return results
