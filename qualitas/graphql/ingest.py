"""GraphQL loads: ``loadFiles`` from the drop folder as queued jobs, ``loadJob`` /
``loadJobs``, and the ``ingestProgress`` subscription (graphql-transport-ws).

Layers::

    loadFiles ── LoadJobs (queue, one writer at a time) ── worker thread: ingest.load_paths, file by file
                     └── Job (state, per-file progress, results) ── subscribers (one asyncio queue each)

A load runs in a worker thread (``asyncio.to_thread``) so the server keeps answering
while it reads; the store has one writer, so a job waits for the one before it. Each
file is its own all-or-nothing batch, as with ``qualitas load``: a file that fails
ends the job ``FAILED`` with the parser's message (file and line or row), files
loaded before it stay loaded, and files after it are skipped.

The registry is per app: ``create_app`` keeps one :class:`LoadJobs` in the request
context as ``"jobs"``. Files are named relative to ``Settings.ingest_dir``; absolute
paths, ``..`` and links leading out of the folder are refused before a job exists.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import enum
import logging
import os
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath, PureWindowsPath

import strawberry
from strawberry.types import Info

from qualitas.audit import AuditLog, audited_load
from qualitas.errors import (
    ConfigError,
    InputError,
    LimitExceededError,
    NotFoundError,
    QualitasError,
    mapping_for,
)
from qualitas.graphql._errors import graphql_error as _error
from qualitas.ingest import FORMATS, PlannedLoad, detect_format, load_paths, source_identity
from qualitas.settings import Settings
from qualitas.store import GraphStore, LoadResult

__all__ = [
    "IngestMutation",
    "IngestQuery",
    "IngestSubscription",
    "Job",
    "LoadJobs",
    "resolve_drop_file",
]

log = logging.getLogger(__name__)

#: Byte progress is passed on at most this often per file (the parsers report every MiB).
PROGRESS_INTERVAL_S = 0.1
#: The most files one ``loadFiles`` call may name.
MAX_FILES = 1000


@strawberry.enum(description="Where a load job is: waiting for the store, loading, or done.")
class LoadJobState(enum.Enum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


@strawberry.enum(description="Where one file of a load job is.")
class LoadFilePhase(enum.Enum):
    QUEUED = "QUEUED"
    LOADING = "LOADING"
    DONE = "DONE"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"  # a file before it failed


@strawberry.enum(description="What changed: CURRENT is the state when the subscription started.")
class LoadProgressKind(enum.Enum):
    CURRENT = "CURRENT"
    JOB_STARTED = "JOB_STARTED"
    FILE_STARTED = "FILE_STARTED"
    FILE_PROGRESS = "FILE_PROGRESS"
    FILE_DONE = "FILE_DONE"
    FILE_FAILED = "FILE_FAILED"
    JOB_SUCCEEDED = "JOB_SUCCEEDED"
    JOB_FAILED = "JOB_FAILED"


_FINAL_STATES = (LoadJobState.SUCCEEDED, LoadJobState.FAILED)
_FINAL_KINDS = (LoadProgressKind.JOB_SUCCEEDED, LoadProgressKind.JOB_FAILED)


# ---------------------------------------------------------------- the registry


@dataclass
class FileStatus:
    """One file of a job: its progress, then what the load did.

    ``status`` is the load's (``added``, ``replaced``, ``unchanged``) or, for a dry
    run, the plan's (``add``, ``replace``, ``unchanged``, ``refused`` with ``message``).
    """

    file: str
    path: Path
    source: str | None = None  # the batch's source; None: the file's absolute path
    phase: LoadFilePhase = LoadFilePhase.QUEUED
    format: str | None = None
    bytes_done: int = 0
    bytes_total: int | None = None
    status: str | None = None
    graph: str | None = None
    triples: int = 0
    previous_triples: int = 0
    message: str | None = None
    error_code: str | None = None
    _last_report: float = 0.0


@dataclass
class Job:
    """A load job; mutated only on the event loop, copied into every event."""

    id: str
    files: list[FileStatus]
    agent: str
    format: str | None = None
    dry_run: bool = False
    replace: bool = False
    reason: str | None = None
    state: LoadJobState = LoadJobState.QUEUED
    created_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    error: str | None = None
    seq: int = 0
    subscribers: set[asyncio.Queue[ProgressEvent]] = field(default_factory=set, repr=False)
    role: str | None = None
    audit: AuditLog | None = field(default=None, repr=False)  # each file loaded appends a `load` record

    @property
    def finished(self) -> bool:
        return self.state in _FINAL_STATES

    def copy(self) -> Job:
        return replace(self, files=[replace(f) for f in self.files], subscribers=set())


@dataclass(frozen=True)
class ProgressEvent:
    """One change of a job: ``job`` as it was right after, ``file`` the index it concerns."""

    seq: int
    kind: LoadProgressKind
    job: Job
    file: int | None = None


class LoadJobs:
    """The load jobs of one app: run one at a time, in the order they were asked for,
    and remembered (the last ``keep`` finished ones) for ``loadJob`` and late subscribers.
    """

    def __init__(self, *, keep: int = 200) -> None:
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._keep = keep
        self._lock: asyncio.Lock | None = None

    @property
    def write_lock(self) -> asyncio.Lock:
        """Held while a job writes; other writers to the store in this process may take it."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        return self._lock

    def get(self, job_id: str) -> Job:
        try:
            return self._jobs[job_id]
        except KeyError:
            raise NotFoundError(f"no load job {job_id!r}", job=job_id) from None

    def recent(self, limit: int = 50) -> list[Job]:
        """Newest first."""
        return list(reversed(self._jobs.values()))[: max(0, limit)]

    def submit(
        self,
        store: GraphStore,
        files: list[tuple[str, Path]],
        *,
        agent: str,
        format: str | None = None,
        dry_run: bool = False,
        reason: str | None = None,
        root: Path | None = None,
        role: str | None = None,
        audit: AuditLog | None = None,
        sources: list[str] | None = None,
        replace: bool = False,
    ) -> Job:
        """Queue a job loading ``files`` (name as given, resolved path) and return it
        at once; it runs when the jobs before it are done. ``root`` is cut from
        messages so they name files as the caller did. With an ``audit`` log, each file
        loaded (not dry runs) appends a ``load`` record, as ``qualitas load`` does.
        ``sources`` name the files' batches (default: their absolute paths); a changed
        file of a loaded source is refused unless ``replace``."""
        if audit is not None and not dry_run:
            audit.ensure_writable()  # refuse now, not after loading, if the trail cannot take the records
        job = Job(
            id=uuid.uuid4().hex,
            files=[
                FileStatus(name, path, source=sources[i] if sources else None) for i, (name, path) in enumerate(files)
            ],
            agent=agent,
            format=format,
            dry_run=dry_run,
            replace=replace,
            reason=reason,
            role=role,
            audit=audit,
        )
        self._jobs[job.id] = job
        self._forget_old()
        task = asyncio.get_running_loop().create_task(self._run(store, job, root), name=f"load-job-{job.id}")
        self._tasks[job.id] = task
        task.add_done_callback(lambda _: self._tasks.pop(job.id, None))
        return job

    async def follow(self, job_id: str) -> AsyncGenerator[ProgressEvent, None]:
        """The job's current state, then each change until it has finished."""
        job = self.get(job_id)
        queue: asyncio.Queue[ProgressEvent] = asyncio.Queue()
        job.subscribers.add(queue)
        try:
            yield ProgressEvent(job.seq, LoadProgressKind.CURRENT, job.copy())
            if job.finished:
                return
            while True:
                event = await queue.get()
                yield event
                if event.kind in _FINAL_KINDS:
                    return
        finally:
            job.subscribers.discard(queue)

    async def aclose(self) -> None:
        """At shutdown: queued jobs fail (nothing of theirs was written), the running
        one is waited for (a load in a thread cannot be stopped halfway)."""
        for job_id, task in list(self._tasks.items()):
            if self._jobs[job_id].state is LoadJobState.QUEUED:
                task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)

    # ------------------------------------------------------------ running

    def _forget_old(self) -> None:
        finished = [j.id for j in self._jobs.values() if j.finished]
        for job_id in finished[: max(0, len(self._jobs) - self._keep)]:
            del self._jobs[job_id]

    def _emit(self, job: Job, kind: LoadProgressKind, file: int | None = None) -> None:
        job.seq += 1
        event = ProgressEvent(job.seq, kind, job.copy(), file)
        for queue in job.subscribers:
            queue.put_nowait(event)

    def _finish(self, job: Job, state: LoadJobState, error: str | None = None) -> None:
        job.state, job.error, job.finished_at = state, error, dt.datetime.now(dt.UTC)
        for f in job.files:
            if f.phase is LoadFilePhase.QUEUED:
                f.phase = LoadFilePhase.SKIPPED
        self._emit(
            job, LoadProgressKind.JOB_SUCCEEDED if state is LoadJobState.SUCCEEDED else LoadProgressKind.JOB_FAILED
        )

    async def _run(self, store: GraphStore, job: Job, root: Path | None) -> None:
        try:
            async with self.write_lock:
                await self._execute(store, job, _Messages(root))
        except asyncio.CancelledError:
            if not job.finished:
                when = "before the job ran" if job.state is LoadJobState.QUEUED else "during the job"
                self._finish(job, LoadJobState.FAILED, f"cancelled: the server shut down {when}")
            raise

    async def _execute(self, store: GraphStore, job: Job, messages: _Messages) -> None:
        loop = asyncio.get_running_loop()
        job.state, job.started_at = LoadJobState.RUNNING, dt.datetime.now(dt.UTC)
        self._emit(job, LoadProgressKind.JOB_STARTED)
        for index, f in enumerate(job.files):
            f.phase = LoadFilePhase.LOADING
            with contextlib.suppress(OSError):
                f.bytes_total = f.path.stat().st_size
            self._emit(job, LoadProgressKind.FILE_STARTED, index)

            def progress(_: Path, index: int = index) -> Callable[[int, int], None]:
                def report(done: int, total: int) -> None:  # in the worker thread
                    loop.call_soon_threadsafe(self._on_bytes, job, index, done, total)

                return report

            try:
                result = await asyncio.to_thread(_load_one, store, job, f, progress)
            except QualitasError as exc:
                f.error_code = mapping_for(exc).graphql_code
                self._fail_file(job, index, messages(str(exc)))
                return
            except Exception as exc:  # a bug in a parser must still end the job, not hang it
                log.exception("load job %s: %s failed unexpectedly", job.id, f.file)
                self._fail_file(job, index, messages(f"{f.file}: internal error: {type(exc).__name__}: {exc}"))
                return
            f.format = result[0]
            _record(f, result[1], messages)
            f.phase = LoadFilePhase.DONE
            self._emit(job, LoadProgressKind.FILE_DONE, index)
        self._finish(job, LoadJobState.SUCCEEDED)

    def _fail_file(self, job: Job, index: int, message: str) -> None:
        f = job.files[index]
        f.phase, f.message = LoadFilePhase.FAILED, message
        self._emit(job, LoadProgressKind.FILE_FAILED, index)
        self._finish(job, LoadJobState.FAILED, message)

    def _on_bytes(self, job: Job, index: int, done: int, total: int) -> None:
        f = job.files[index]
        if f.phase is not LoadFilePhase.LOADING or (done, total) == (f.bytes_done, f.bytes_total):
            return
        f.bytes_done, f.bytes_total = done, total
        now = time.monotonic()
        if done >= total or now - f._last_report >= PROGRESS_INTERVAL_S:
            f._last_report = now
            self._emit(job, LoadProgressKind.FILE_PROGRESS, index)


def _load_one(
    store: GraphStore, job: Job, f: FileStatus, progress: Callable[[Path], Callable[[int, int], None]]
) -> tuple[str, LoadResult | PlannedLoad]:
    """In the worker thread: detect the format and load (or dry-run) one file, the
    change and its audit record one recoverable unit."""
    path = f.path
    fmt = detect_format(path, job.format)
    trail = None if job.dry_run else job.audit
    source = source_identity(path, f.source)
    with audited_load(
        trail, store, actor=job.agent, role=job.role, source=source, paths=[path], format=fmt, why=job.reason
    ) as done:
        [result] = load_paths(
            store,
            [path],
            format=fmt,
            agent=job.agent,
            dry_run=job.dry_run,
            progress=progress,
            source=f.source,
            replace=job.replace,
        )
        done.results = [result]
    return fmt, result


def _record(f: FileStatus, result: LoadResult | PlannedLoad, messages: _Messages) -> None:
    f.status, f.triples = result.status, result.triples
    if isinstance(result, LoadResult):
        f.graph, f.previous_triples = result.graph, result.previous_triples
        f.bytes_done = f.bytes_total or f.bytes_done
    elif result.message:
        f.message = messages(result.message)


class _Messages:
    """Parser messages name the file by its server path; callers named it relative to the drop folder."""

    def __init__(self, root: Path | None) -> None:
        self._prefix = str(root) + os.sep if root is not None else None

    def __call__(self, message: str) -> str:
        return message.replace(self._prefix, "") if self._prefix else message


# ---------------------------------------------------------------- the drop folder


def resolve_drop_file(root: Path, name: str) -> Path:
    """The file ``name`` inside ``root``, resolved; refuses absolute paths, ``..``,
    links that lead out of ``root``, and anything that is not an existing file."""

    def refuse(why: str) -> InputError:
        return InputError(f"{name}: {why}", file=name)

    if not name.strip() or "\x00" in name:
        raise refuse("not a file name")
    if PurePosixPath(name).is_absolute() or PureWindowsPath(name).is_absolute() or PureWindowsPath(name).drive:
        raise refuse("absolute paths are refused; name the file relative to the ingest folder")
    relative = PurePosixPath(name.replace("\\", "/"))
    if ".." in relative.parts:
        raise refuse("'..' is refused; name a file inside the ingest folder")
    try:
        target = (root / relative).resolve()
        if not target.is_relative_to(root):
            raise refuse("leads out of the ingest folder (through a link)")
        if not target.exists():
            raise refuse("no such file in the ingest folder")
        if not target.is_file():
            raise refuse("not a regular file")
    except OSError as exc:  # a name the file system refuses, e.g. too long
        raise refuse(f"not a usable file name ({exc.strerror})") from exc
    return target


def _drop_folder(settings: Settings) -> Path:
    if settings.ingest_dir is None:
        raise ConfigError("loadFiles is off on this server: no ingest folder is configured (set QUALITAS_INGEST_DIR)")
    root = Path(settings.ingest_dir).resolve()
    if not root.is_dir():
        raise ConfigError(f"loadFiles is off on this server: the ingest folder {root.name!r} does not exist")
    return root


# ---------------------------------------------------------------- GraphQL


def _jobs(info: Info) -> LoadJobs:
    jobs = info.context.get("jobs") if isinstance(info.context, dict) else None
    if not isinstance(jobs, LoadJobs):
        raise _error(QualitasError("load jobs are not available on this server"))
    return jobs


def _agent(info: Info) -> str:
    principal = info.context.get("principal") if isinstance(info.context, dict) else None
    return str(getattr(principal, "name", None) or "anonymous")


@strawberry.type(description="One file of a load job: progress while it loads, then what the load did.")
class LoadFile:
    file: str = strawberry.field(description="The file as named, relative to the ingest folder.")
    phase: LoadFilePhase
    format: str | None
    bytes_done: int
    bytes_total: int | None
    status: str | None = strawberry.field(
        description="added, replaced or unchanged; for a dry run add, replace, unchanged or refused."
    )
    graph: str | None = strawberry.field(description="The named graph of the file's batch.")
    triples: int
    previous_triples: int = strawberry.field(description="Triples of the batch this one replaced.")
    message: str | None = strawberry.field(description="Why the file failed or was refused (file and line or row).")
    error_code: str | None = strawberry.field(
        description="The error code of a failed file (as in GraphQL errors' extensions.code, e.g. PARSE_ERROR)."
    )


@strawberry.type(description="A load of files from the ingest folder, each file its own all-or-nothing batch.")
class LoadJob:
    id: str
    state: LoadJobState
    files: list[LoadFile]
    format: str | None
    dry_run: bool
    agent: str
    reason: str | None
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    error: str | None = strawberry.field(description="Why the job failed, as the parser says it (file and line).")


@strawberry.type(description="A change of a load job, with the job as it is after it.")
class LoadProgress:
    job_id: str
    seq: int
    kind: LoadProgressKind
    state: LoadJobState
    file: LoadFile | None = strawberry.field(description="The file the change is about, if any.")
    job: LoadJob


def _file(f: FileStatus) -> LoadFile:
    return LoadFile(
        file=f.file,
        phase=f.phase,
        format=f.format,
        bytes_done=f.bytes_done,
        bytes_total=f.bytes_total,
        status=f.status,
        graph=f.graph,
        triples=f.triples,
        previous_triples=f.previous_triples,
        message=f.message,
        error_code=f.error_code,
    )


def _job(job: Job) -> LoadJob:
    return LoadJob(
        id=job.id,
        state=job.state,
        files=[_file(f) for f in job.files],
        format=job.format,
        dry_run=job.dry_run,
        agent=job.agent,
        reason=job.reason,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        error=job.error,
    )


def _progress(event: ProgressEvent) -> LoadProgress:
    return LoadProgress(
        job_id=event.job.id,
        seq=event.seq,
        kind=event.kind,
        state=event.job.state,
        file=_file(event.job.files[event.file]) if event.file is not None else None,
        job=_job(event.job),
    )


@strawberry.type
class IngestQuery:
    @strawberry.field(description="A load job by its id.")
    def load_job(self, info: Info, id: str) -> LoadJob:
        try:
            return _job(_jobs(info).get(id))
        except QualitasError as exc:
            raise _error(exc) from exc

    @strawberry.field(description="Load jobs this server ran or is running, newest first.")
    def load_jobs(self, info: Info, limit: int = 20) -> list[LoadJob]:
        return [_job(j) for j in _jobs(info).recent(limit)]


@strawberry.type
class IngestMutation:
    @strawberry.mutation(
        description="Load files from the server's ingest folder (paths relative to it), each as its own "
        "batch, in a background job; returns the job at once. Follow it with the ingestProgress "
        "subscription or the loadJob query. The recorded agent is the caller. A batch is known by its "
        "source: the file's absolute path on the server, or the matching entry of `sources`; loading "
        "changed content for a source already loaded is refused unless `replace` is true."
    )
    async def load_files(
        self,
        info: Info,
        files: list[str],
        format: str | None = None,
        dry_run: bool = False,
        reason: str | None = None,
        sources: list[str] | None = None,
        replace: bool = False,
    ) -> LoadJob:
        try:
            jobs = _jobs(info)
            root = _drop_folder(info.context["settings"])
            if not files:
                raise InputError("name at least one file to load")
            if len(files) > MAX_FILES:
                raise LimitExceededError(f"{len(files)} files in one job; the most is {MAX_FILES}", limit=MAX_FILES)
            if format is not None and format not in FORMATS:
                raise InputError(f"unknown format {format!r}; expected one of {sorted(FORMATS)}", format=format)
            if sources is not None and len(sources) != len(files):
                raise InputError(f"{len(sources)} sources for {len(files)} files; give one source per file")
            resolved = [(name, resolve_drop_file(root, name)) for name in files]
            job = jobs.submit(
                info.context["store"],
                resolved,
                agent=_agent(info),
                format=format,
                dry_run=dry_run,
                reason=reason,
                root=root,
                role=getattr(info.context.get("principal"), "role", None),
                audit=info.context.get("audit"),
                sources=sources,
                replace=replace,
            )
        except QualitasError as exc:
            raise _error(exc) from exc
        return _job(job)


@strawberry.type
class IngestSubscription:
    @strawberry.subscription(
        description="Progress of a load job: first its current state, then each change (job started, file "
        "started, bytes read, file done or failed) until the job has succeeded or failed."
    )
    async def ingest_progress(self, info: Info, job_id: str) -> AsyncGenerator[LoadProgress, None]:
        try:
            jobs = _jobs(info)
            jobs.get(job_id)
        except QualitasError as exc:
            raise _error(exc) from exc
        async with contextlib.aclosing(jobs.follow(job_id)) as events:
            async for event in events:
                yield _progress(event)
