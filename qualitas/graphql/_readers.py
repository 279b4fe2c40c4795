"""Reader worker processes: read answers computed beside the server, on store checkpoints.

Layers::

    uvicorn ── app (create_app: the one process that holds the store for writing)
            ── AnsweringRouter ── AnswerCache (hit: the bytes, nothing else runs)
                              └─ miss ── ReaderPool ── unix socket ── reader process 1..N (uvicorn)
                                              │                        └─ ReaderApp ── schema.execute
                                              │                             └─ read-only Store on a checkpoint
                                              └─ Checkpoints ── Store.backup (a RocksDB checkpoint)

Python runs one thread of Python code at a time, so one server process answers reads
on one core however many threads it has. ``qualitas serve --workers N`` starts N
reader processes; the server process stays the only writer and the only public
endpoint: it authenticates every request, runs every mutation, subscription and
refusal (so the audit trail has one writer), serves cached answers, and hands each
read it would otherwise compute (a query whose every root field is in
:data:`~qualitas.graphql._answers.CACHEABLE_FIELDS` and allowed to the caller's role)
to the least busy reader.

A reader never opens the live store: pyoxigraph documents a read-only open beside a
writer as undefined behaviour, and 0.5 has no secondary open. It opens a
*checkpoint* instead: ``Store.backup(dir)`` makes a RocksDB checkpoint (hard links to
the immutable SST files, so cheap), and a checkpoint never changes, so a read-only open
of it is well defined. The server takes one per store generation, when the first read
of that generation is handed on (none while no one reads), and checks that the
generation was the same, and even, before and after it: the checkpoint then holds
exactly the committed snapshot that generation names. Each handed-on read carries the
generation of its cache key and the checkpoint of that generation, so a reader answers
from the same snapshot the server would have read itself: never a stale answer, not
even one commit behind. A read that cannot be handed on (a write in flight, no reader
ready, a reader that died, a checkpoint that failed, an answer with errors) is answered
by the server as with one process.

Checkpoints live in ``<store>.snapshots/``, beside the store (hard links need the same
file system); a superseded one is removed once no read can still be using it, and the
folder is removed when the server stops. A reader that dies is started again.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import multiprocessing
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from strawberry.http import process_result

from qualitas.auth import Principal
from qualitas.errors import ConfigError
from qualitas.graphql import _json
from qualitas.settings import Settings
from qualitas.store import GraphStore, open_store

log = logging.getLogger("qualitas.readers")

#: How long the server waits for a reader's answer before answering itself.
_ANSWER_TIMEOUT_S = 60.0


def checkpoint_capable(store: GraphStore) -> bool:
    """Whether ``store`` can make checkpoints: the embedded Oxigraph store, on disk,
    open for writing."""
    return (
        getattr(store, "backend", None) == "oxigraph"
        and getattr(store, "path", None) is not None
        and not getattr(store, "read_only", True)
        and hasattr(store, "_store")
    )


def _backup(store: GraphStore, target: Path) -> None:
    # pyoxigraph's Store.backup; OxigraphStore has no public method for it (yet).
    store._store.backup(str(target))  # type: ignore[attr-defined]


class Checkpoints:
    """Checkpoints of the writer's store, one per generation that a reader was asked
    to read, in ``root``; each superseded one is removed ``grace_s`` after it was
    superseded (longer than any read may run), the newest is kept."""

    def __init__(self, store: GraphStore, root: Path, *, grace_s: float) -> None:
        if not checkpoint_capable(store):
            raise ConfigError(
                "--workers needs the embedded Oxigraph store in a folder on disk, open for writing "
                f"(this one: {getattr(store, 'backend', '?')}, {getattr(store, 'path', None) or 'no folder'}); "
                "serve this store with one worker"
            )
        self.store = store
        self.root = root
        self.grace_s = grace_s
        self._lock = threading.Lock()
        self._by_generation: dict[int, Path] = {}
        self._superseded: list[tuple[float, Path]] = []
        self._serial = itertools.count()
        # The server holds the store's write lock, so no other server uses this folder:
        # what is in it was left by one that was killed.
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)

    def known(self, generation: int) -> Path | None:
        """The checkpoint of ``generation`` if it is made already (never blocks)."""
        return self._by_generation.get(generation)

    def for_generation(self, generation: int) -> Path | None:
        """The checkpoint of ``generation``, made now if there is none; None when the
        store is no longer at that generation (or a write is in flight). Blocking."""
        if generation % 2:
            return None
        with self._lock:
            found = self._by_generation.get(generation)
            if found is not None:
                return found
            if self.store.generation() != generation:
                return None
            self._remove_expired()
            target = self.root / f"g{generation:012d}-{next(self._serial)}"
            started = time.perf_counter()
            _backup(self.store, target)
            if self.store.generation() != generation:
                # A commit began while the checkpoint was taken: it may hold part of it.
                shutil.rmtree(target, ignore_errors=True)
                return None
            log.info("checkpoint of generation %d in %.0f ms", generation, (time.perf_counter() - started) * 1000)
            now = time.monotonic()
            for older in self._by_generation.values():
                self._superseded.append((now, older))
            self._by_generation = {generation: target}
            return target

    def _remove_expired(self) -> None:
        now = time.monotonic()
        keep = []
        for since, path in self._superseded:
            if now - since >= self.grace_s:
                shutil.rmtree(path, ignore_errors=True)
            else:
                keep.append((since, path))
        self._superseded = keep

    def close(self) -> None:
        with self._lock:
            shutil.rmtree(self.root, ignore_errors=True)
            self._by_generation.clear()
            self._superseded.clear()


# ------------------------------------------------------------------ the server's side


@dataclass
class _Reader:
    index: int
    socket: Path
    process: Any = None  # multiprocessing.Process
    ready: bool = False
    busy: int = 0
    answered: int = 0
    idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = field(default_factory=list)


class ReaderPool:
    """N reader processes, each a uvicorn server on its own unix socket in a private
    folder (mode 0700), started again when one dies. :meth:`answer` hands a read to the
    least busy ready reader over a kept-alive HTTP/1.1 connection."""

    def __init__(self, settings: Settings, checkpoints: Checkpoints, *, workers: int) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.settings = settings
        self.checkpoints = checkpoints
        self._dir = Path(tempfile.mkdtemp(prefix="qualitas-readers-"))
        self._readers = [_Reader(i, self._dir / f"r{i}.sock") for i in range(workers)]
        self._context = multiprocessing.get_context("spawn")
        self._closing = False
        self._monitor: asyncio.Task[None] | None = None
        self.fallbacks = 0
        #: Reads the server is computing itself right now (:meth:`local`).
        self.local_busy = 0

    # -- life cycle

    async def start(self) -> None:
        for reader in self._readers:
            self._spawn(reader)
        self._monitor = asyncio.create_task(self._watch())

    def _spawn(self, reader: _Reader) -> None:
        with contextlib.suppress(FileNotFoundError):
            reader.socket.unlink()
        reader.ready = False
        reader.idle.clear()
        process = self._context.Process(
            target=reader_main,
            args=(self.settings, str(reader.socket), str(self.checkpoints.root), os.getpid()),
            name=f"qualitas-reader-{reader.index}",
            daemon=True,
        )
        process.start()
        reader.process = process

    async def _watch(self) -> None:
        """Marks readers ready once their socket answers; starts a dead one again."""
        while not self._closing:
            for reader in self._readers:
                if reader.process is not None and not reader.process.is_alive():
                    log.warning(
                        "reader %d (pid %s) exited (%s); starting it again",
                        reader.index,
                        reader.process.pid,
                        reader.process.exitcode,
                    )
                    self._spawn(reader)
                elif not reader.ready and reader.socket.exists():
                    with contextlib.suppress(OSError):
                        _, writer = await asyncio.open_unix_connection(str(reader.socket))
                        writer.close()
                        reader.ready = True
            await asyncio.sleep(0.2)

    async def aclose(self) -> None:
        self._closing = True
        if self._monitor is not None:
            self._monitor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._monitor
        for reader in self._readers:
            for _, writer in reader.idle:
                writer.close()
            reader.idle.clear()
            if reader.process is not None and reader.process.is_alive():
                reader.process.terminate()
        for reader in self._readers:
            if reader.process is not None:
                await asyncio.to_thread(reader.process.join, 10)
                if reader.process.is_alive():
                    reader.process.kill()
        shutil.rmtree(self._dir, ignore_errors=True)

    # -- state, for /healthz and tests

    def status(self) -> dict[str, int]:
        """Counts only (``/healthz`` is public): workers, ready ones, reads they answered,
        reads handed back to the server."""
        return {
            "workers": len(self._readers),
            "ready": sum(r.ready for r in self._readers),
            "answered": sum(r.answered for r in self._readers),
            "fallbacks": self.fallbacks,
        }

    def pids(self) -> list[int | None]:
        return [r.process.pid if r.process is not None else None for r in self._readers]

    # -- answering

    @contextlib.contextmanager
    def local(self) -> Iterator[None]:
        """Around a read the server computes itself, so that the next is handed on."""
        self.local_busy += 1
        try:
            yield
        finally:
            self.local_busy -= 1

    async def answer(
        self,
        *,
        generation: int,
        method: str,
        query: str,
        variables: Any,
        operation_name: str | None,
        extensions: Any,
        principal: Principal,
    ) -> bytes | None:
        """The encoded answer a reader computed on the checkpoint of ``generation``, or
        None: the server answers itself (see the module docstring)."""
        ready = [r for r in self._readers if r.ready]
        if not ready:
            self.fallbacks += 1
            return None
        reader = min(ready, key=lambda r: r.busy)
        if self.local_busy < reader.busy:
            return None  # the server itself is the least busy: it answers (a worker too)
        checkpoint = self.checkpoints.known(generation)
        if checkpoint is None:  # the first read of this generation: make its checkpoint
            checkpoint = await asyncio.to_thread(self.checkpoints.for_generation, generation)
        if checkpoint is None:
            self.fallbacks += 1
            return None
        body = _json.dumps(
            {
                "checkpoint": str(checkpoint),
                "method": method,
                "query": query,
                "variables": variables,
                "operationName": operation_name,
                "extensions": extensions,
                "principal": {
                    "name": principal.name,
                    "role": principal.role,
                    "key_id": principal.key_id,
                    "by_token": principal.by_token,
                },
            }
        )
        reader.busy += 1
        try:
            status, answer = await asyncio.wait_for(self._post(reader, body), _ANSWER_TIMEOUT_S)
        except (OSError, asyncio.IncompleteReadError, TimeoutError) as exc:
            log.warning("reader %d did not answer (%s); the server answers", reader.index, exc)
            reader.ready = False  # the watcher marks it ready again once its socket answers
            self.fallbacks += 1
            return None
        finally:
            reader.busy -= 1
        if status != 200:
            self.fallbacks += 1
            return None  # errors (a refusal, a limit, a bad argument): the server answers and records them
        reader.answered += 1
        return answer

    async def _post(self, reader: _Reader, body: bytes) -> tuple[int, bytes]:
        if reader.idle:
            stream, writer = reader.idle.pop()
            try:
                return await self._exchange(reader, stream, writer, body)
            except (OSError, asyncio.IncompleteReadError):
                pass  # a kept-alive connection the reader closed: once more on a new one
        stream, writer = await asyncio.open_unix_connection(str(reader.socket))
        return await self._exchange(reader, stream, writer, body)

    @staticmethod
    async def _exchange(
        reader: _Reader, stream: asyncio.StreamReader, writer: asyncio.StreamWriter, body: bytes
    ) -> tuple[int, bytes]:
        try:
            writer.write(
                b"POST /answer HTTP/1.1\r\nHost: reader\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n" % len(body) + body
            )
            head = await stream.readuntil(b"\r\n\r\n")
            lines = head.split(b"\r\n")
            status = int(lines[0].split()[1])
            length = 0
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            answer = await stream.readexactly(length)
        except BaseException:
            writer.close()
            raise
        reader.idle.append((stream, writer))
        return status, answer


# ------------------------------------------------------------------ the reader's side


class _Snapshot:
    """One checkpoint opened read-only, with the number of reads using it."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.store = open_store(path, read_only=True)
        self.users = 0


class ReaderApp:
    """The ASGI app of a reader process: ``POST /answer`` runs one read on the
    checkpoint it names and answers 200 with the encoded answer, or 409 when the
    answer has errors (the server then runs it itself, and records what it must)."""

    def __init__(self, settings: Settings, checkpoints_root: str) -> None:
        from qualitas.edge_adapters.alerts import AlertHub
        from qualitas.graphql.audit import AuditExtension
        from qualitas.graphql.schema import build_schema
        from qualitas.graphql.security import RefusalRecorder, ResolverPool, extensions_for

        self.settings = settings
        self.root = os.path.realpath(checkpoints_root)
        self.schema = build_schema(extensions=[*extensions_for(settings), AuditExtension])
        self.workers = ResolverPool(threads=settings.resolver_threads)
        self.refusals = RefusalRecorder(None, per_minute=settings.audit_refusals_per_minute)
        self.alerts = AlertHub()
        self._current: _Snapshot | None = None
        self._open_lock = asyncio.Lock()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    self.workers.close()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != "/answer":
            await _respond(send, 404, b"")
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        request = _json.loads(body)
        path = os.path.realpath(request["checkpoint"])
        if os.path.dirname(path) != self.root:
            await _respond(send, 400, b"checkpoint outside the server's folder")
            return
        try:
            snapshot = await self._acquire(path)
        except Exception:  # e.g. a checkpoint removed under a read that waited too long
            log.exception("cannot open checkpoint %s; the server answers", path)
            await _respond(send, 503, b"")
            return
        try:
            status, answer = await self._execute(snapshot.store, request)
        except Exception:
            log.exception("read failed; the server answers")
            status, answer = 500, b""
        finally:
            self._release(snapshot)
        await _respond(send, status, answer)

    async def _acquire(self, path: str) -> _Snapshot:
        current = self._current
        if current is None or current.path != path:
            async with self._open_lock:
                current = self._current
                if current is None or current.path != path:
                    opened = await asyncio.to_thread(_Snapshot, path)
                    previous, self._current = self._current, opened
                    if previous is not None and previous.users == 0:
                        previous.store.close()
                    current = opened
        current.users += 1
        return current

    def _release(self, snapshot: _Snapshot) -> None:
        snapshot.users -= 1
        if snapshot.users == 0 and snapshot is not self._current:
            snapshot.store.close()

    async def _execute(self, store: GraphStore, request: dict[str, Any]) -> tuple[int, bytes]:
        who = request["principal"]
        principal = Principal(who["name"], who["role"], key_id=who["key_id"], by_token=bool(who["by_token"]))
        context = {
            "client": "reader",
            "refusals": self.refusals,
            "workers": self.workers,
            "store": store,
            "settings": self.settings,
            "alerts": self.alerts,
            "principal": principal,
            "authenticator": None,  # the server authenticated the caller; the policy still applies here
            "jobs": None,
            "audit": None,
        }
        result = await self.schema.execute(
            request["query"],
            variable_values=request.get("variables"),
            context_value=context,
            operation_name=request.get("operationName"),
        )
        if result.errors or result.data is None:
            return 409, b""
        return 200, _json.dumps(process_result(result))


async def _respond(send: Any, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _exit_with_parent(parent: int) -> None:
    """A reader outlives no server: once its parent is gone (killed), it leaves."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


def reader_main(settings: Settings, socket: str, checkpoints_root: str, parent: int) -> None:
    """A reader process: uvicorn on the unix socket ``socket``, serving :class:`ReaderApp`."""
    import uvicorn

    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True, name="parent-watch").start()
    app = ReaderApp(settings, checkpoints_root)
    config = uvicorn.Config(app, uds=socket, ws="none", log_level="warning", lifespan="on", timeout_keep_alive=3600)
    uvicorn.Server(config).run()


__all__ = ["Checkpoints", "ReaderApp", "ReaderPool", "checkpoint_capable", "reader_main"]
