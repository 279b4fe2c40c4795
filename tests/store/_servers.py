"""Real SPARQL servers on 127.0.0.1 for the remote store's tests: Oxigraph server (PyPI
``oxigraph``) and Virtuoso 7 (Debian ``virtuoso-opensource``). Each runs in a temporary
directory with its own ports; nothing is downloaded.

A server object can be killed (SIGKILL, as a crash) and started again on the same data
and ports, which the kill and failover tests do.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

VIRTUOSO_PASSWORD = "virtuoso-test-password-1"
_OURS = 'FILTER(STRSTARTS(STR(?g), "https://w3id.org/qualitas/"))'


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(check: callable, what: str, log: Path | None, timeout_s: float = 60.0) -> None:  # type: ignore[valid-type]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError, OSError):
            if check():
                return
        time.sleep(0.1)
    tail = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
    raise RuntimeError(f"{what} did not start within {timeout_s}s\n{tail}")


@dataclass
class _Server:
    root: Path
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def kill(self) -> None:
        """SIGKILL: a crash, no clean shutdown."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)
        self.process = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        self.process = None


@dataclass
class OxigraphServer(_Server):
    """``oxigraph serve --location DIR --bind 127.0.0.1:PORT``."""

    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        return {}

    def start(self) -> None:
        binary = shutil.which("oxigraph") or str(Path(sys.executable).with_name("oxigraph"))
        log = self.root / "server.log"
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [binary, "serve", "--location", str(self.root / "data"), "--bind", f"127.0.0.1:{self.port}"],
                stdout=out,
                stderr=subprocess.STDOUT,
            )

        def ready() -> bool:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"oxigraph exited with {self.process.returncode}: {log.read_text()[-2000:]}")
            return httpx.post(f"{self.url}/query", data={"query": "ASK {}"}, timeout=2).status_code == 200

        _wait(ready, "oxigraph serve", log)

    def wipe(self) -> None:
        httpx.post(f"{self.url}/update", data={"update": "DROP ALL"}, timeout=30).raise_for_status()

    @classmethod
    @contextlib.contextmanager
    def running(cls) -> Iterator[OxigraphServer]:
        with tempfile.TemporaryDirectory(prefix="qualitas-oxigraph-") as tmp:
            server = cls(Path(tmp), port=free_port())
            server.start()
            try:
                yield server
            finally:
                server.stop()


_VIRTUOSO_INI = """[Database]
DatabaseFile = {root}/virtuoso.db
ErrorLogFile = {root}/virtuoso.log
LockFile = {root}/virtuoso.lck
TransactionFile = {root}/virtuoso.trx
xa_persistent_file = {root}/virtuoso.pxa
ErrorLogLevel = 7
FileExtend = 200
MaxCheckpointRemap = 2000
Striping = 0
TempStorage = TempDatabase

[TempDatabase]
DatabaseFile = {root}/virtuoso-temp.db
TransactionFile = {root}/virtuoso-temp.trx
MaxCheckpointRemap = 2000
Striping = 0

[Parameters]
ServerPort = 127.0.0.1:{sql_port}
DisableUnixSocket = 1
MaxClientConnections = 10
CheckpointInterval = 60
O_DIRECT = 0
CaseMode = 2
MaxStaticCursorRows = 5000
AllowOSCalls = 0
DirsAllowed = .
ThreadsPerQuery = 2
AsyncQueueMaxThreads = 10
NumberOfBuffers = 20000
MaxDirtyBuffers = 15000
MaxQueryMem = 1G
; a batch's switch is one transaction: its log entry must fit (the default, 50 MB, is ~300,000 triples)
TransactionAfterImageLimit = 1500000000

[HTTPServer]
ServerPort = 127.0.0.1:{http_port}
ServerRoot = {root}/vsp
MaxClientConnections = 10
ServerThreads = 10
MaxKeepAlives = 10
KeepAliveTimeout = 10
EnabledGzipContent = 0
Charset = UTF-8

[SPARQL]
ResultSetMaxRows = 100000000
MaxSortedTopRows = 100000000
MaxQueryCostEstimationTime = 0
MaxQueryExecutionTime = 0
"""


@dataclass
class VirtuosoServer(_Server):
    """``virtuoso-t +foreground`` with an ini of its own; updates at /sparql-auth (digest login
    as ``dba``, whose password the fixture changes from the default)."""

    http_port: int = 0
    sql_port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}/sparql"

    @property
    def env(self) -> dict[str, str]:
        return {"QUALITAS_STORE_USER": "dba", "QUALITAS_STORE_PASSWORD": VIRTUOSO_PASSWORD}

    def start(self) -> None:
        ini = self.root / "virtuoso.ini"
        if not ini.exists():
            (self.root / "vsp").mkdir()
            ini.write_text(
                _VIRTUOSO_INI.format(root=self.root, sql_port=self.sql_port, http_port=self.http_port),
                encoding="utf-8",
            )
        (self.root / "virtuoso.lck").unlink(missing_ok=True)  # left by a kill
        log = self.root / "stdout.log"
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                ["virtuoso-t", "-c", str(ini), "+foreground"], cwd=self.root, stdout=out, stderr=subprocess.STDOUT
            )

        def ready() -> bool:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"virtuoso-t exited with {self.process.returncode}: {log.read_text()[-2000:]}")
            url = f"http://127.0.0.1:{self.http_port}/sparql"
            return httpx.post(url, data={"query": "ASK {}"}, timeout=2).status_code == 200

        _wait(ready, "virtuoso-t", self.root / "virtuoso.log", timeout_s=120)
        marker = self.root / "password-set"
        if not marker.exists():
            subprocess.run(
                [
                    "isql-vt",
                    f"127.0.0.1:{self.sql_port}",
                    "dba",
                    "dba",
                    f"exec=user_change_password('dba', 'dba', '{VIRTUOSO_PASSWORD}');",
                ],
                check=True,
                capture_output=True,
                timeout=60,
            )
            marker.touch()

    def update(self, text: str) -> None:
        auth = httpx.DigestAuth("dba", VIRTUOSO_PASSWORD)
        url = f"http://127.0.0.1:{self.http_port}/sparql-auth"
        httpx.post(url, data={"update": text}, auth=auth, timeout=60).raise_for_status()

    def wipe(self) -> None:
        """Drop every graph of ours (Virtuoso's own graphs stay)."""
        response = httpx.post(
            f"http://127.0.0.1:{self.http_port}/sparql",
            data={"query": f"SELECT DISTINCT ?g WHERE {{ GRAPH ?g {{ ?s ?p ?o }} {_OURS} }}"},
            headers={"Accept": "application/sparql-results+json"},
            timeout=60,
        )
        response.raise_for_status()
        graphs = [b["g"]["value"] for b in response.json()["results"]["bindings"]]
        for graph in graphs:
            self.update(f"DROP SILENT GRAPH <{graph}>")

    @classmethod
    @contextlib.contextmanager
    def running(cls) -> Iterator[VirtuosoServer]:
        if shutil.which("virtuoso-t") is None:
            raise RuntimeError("virtuoso-t is not installed: apt-get install virtuoso-opensource (see .ci/run)")
        with tempfile.TemporaryDirectory(prefix="qualitas-virtuoso-") as tmp:
            server = cls(Path(tmp), http_port=free_port(), sql_port=free_port())
            server.start()
            try:
                yield server
            finally:
                server.stop()
