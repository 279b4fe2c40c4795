"""A real ArcadeDB server with its Bolt plugin, on 127.0.0.1, for the Bolt backend's tests.

ArcadeDB comes from PyPI (``arcadedb-embedded``, which bundles a Java 21 runtime and
the server's jars, Bolt plugin included); nothing is downloaded at run time. The
server speaks Bolt 5.4 and reports itself as Neo4j 5 compatible, so the official
``neo4j`` driver talks to it as to a Neo4j server.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from qualitas.store import Connection, GraphStore
    from tests.store.conftest import StoreFactory

DATABASE = "qualitas"
USER = "root"
PASSWORD = "qualitas-test-password"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ArcadeServer:
    """One ArcadeDB server process, its ports and its data directory."""

    root: Path
    bolt_port: int
    http_port: int
    process: subprocess.Popen[bytes] | None = None
    #: The JVM's largest heap (a whole batch is one transaction, held in memory until it commits).
    heap: str = "768m"
    #: SerialGC keeps a small test server small; a large heap wants the default (G1), whose
    #: pauses do not grow with the heap.
    serial_gc: bool = True

    @property
    def url(self) -> str:
        return f"bolt://127.0.0.1:{self.bolt_port}"

    @property
    def env(self) -> dict[str, str]:
        """What a `qualitas` process needs to reach this server."""
        return {
            "QUALITAS_STORE_USER": USER,
            "QUALITAS_STORE_PASSWORD": PASSWORD,
            "QUALITAS_STORE_DATABASE": DATABASE,
        }

    def start(self, *, timeout: float = 90.0) -> None:
        import arcadedb_embedded  # the package only brings the JRE and the jars here

        package = Path(arcadedb_embedded.__file__).parent
        with socket.socket() as probe:  # a taken port would only show as a server never ready
            # SO_REUSEADDR, as the server's own listener has: the connections a killed
            # server leaves in TIME_WAIT do not count, a process listening there does.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", self.bolt_port))
            except OSError as exc:
                raise RuntimeError(f"cannot start ArcadeDB: Bolt port {self.bolt_port} is taken ({exc})") from exc
        java = package / "jre" / "bin" / "java"
        self.root.mkdir(parents=True, exist_ok=True)
        log = (self.root / "server.log").open("ab")
        command = [
            str(java),
            "-Xms128m",
            f"-Xmx{self.heap}",
            *(("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1") if self.serial_gc else ()),
            f"-Darcadedb.server.rootPath={self.root}",
            f"-Darcadedb.server.databaseDirectory={self.root / 'databases'}",
            f"-Darcadedb.server.rootPassword={PASSWORD}",
            f"-Darcadedb.server.defaultDatabases={DATABASE}[{USER}]",
            "-Darcadedb.server.plugins=Bolt:com.arcadedb.bolt.BoltProtocolPlugin",
            "-Darcadedb.server.httpIncomingHost=127.0.0.1",
            f"-Darcadedb.server.httpIncomingPort={self.http_port}",
            "-Darcadedb.bolt.host=127.0.0.1",
            f"-Darcadedb.bolt.port={self.bolt_port}",
            "-Darcadedb.server.mode=development",
            "-cp",
            str(package / "jars") + "/*",
            "com.arcadedb.server.ArcadeDBServer",
        ]
        self.process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=self.root
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"ArcadeDB exited with {self.process.returncode}: {self.log_tail()}")
            if self._ready() and self._bolt_open():
                return
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"ArcadeDB not ready after {timeout} s: {self.log_tail()}")

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}/api/v1/ready", timeout=2) as response:
                return bool(response.status == 204 or response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def _bolt_open(self) -> bool:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.bolt_port), timeout=1):
            return True
        return False

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, as when the machine loses power."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)
        self.process = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        self.process = None

    def log_tail(self) -> str:
        path = self.root / "server.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""


def start_server(root: Path, *, heap: str = "768m", serial_gc: bool = True) -> ArcadeServer:
    server = ArcadeServer(root=root, bolt_port=_free_port(), http_port=_free_port(), heap=heap, serial_gc=serial_gc)
    server.start()
    return server


# ---------------------------------------------------------------- fixtures
# Imported by tests/store/conftest.py (the backend table) and by the Bolt tests.


def wipe(server: ArcadeServer) -> None:
    """Empty the server's database (the schema stays)."""
    import neo4j

    with (
        neo4j.GraphDatabase.driver(server.url, auth=(USER, PASSWORD)) as driver,
        driver.session(database=DATABASE) as session,
    ):
        session.run("MATCH (n) DETACH DELETE n").consume()


def connection(server: ArcadeServer, database: str = DATABASE) -> Connection:
    from qualitas.store import Connection

    return Connection(url=server.url, user=USER, password=PASSWORD, database=database, retries=3)


def create_database(server: ArcadeServer, name: str) -> None:
    """A new, empty database on the server (ArcadeDB's HTTP server command)."""
    import base64
    import json

    request = urllib.request.Request(
        f"http://127.0.0.1:{server.http_port}/api/v1/server",
        data=json.dumps({"command": f"create database {name}"}).encode(),
        headers={
            "Authorization": "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode(),
            "Content-Type": "application/json",
        },
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()


@pytest.fixture(scope="session")
def arcadedb_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ArcadeServer]:
    """One ArcadeDB server for the session."""
    server = start_server(tmp_path_factory.mktemp("arcadedb"))
    yield server
    server.stop()


@pytest.fixture
def bolt_factory(arcadedb_server: ArcadeServer) -> Iterator[StoreFactory]:
    """Empty Bolt stores on the session's ArcadeDB server."""
    from qualitas.store import open_store
    from tests.store.conftest import StoreFactory

    server = arcadedb_server

    def make() -> GraphStore:
        wipe(server)
        store = open_store(server.url, connection=connection(server))
        factory.opened.append(store)
        return store

    def reopen(store: GraphStore) -> GraphStore:
        store.close()
        again = open_store(server.url, connection=connection(server))
        factory.opened.append(again)
        return again

    factory = StoreFactory("bolt-arcadedb", make, reopen)
    yield factory
    for store in factory.opened:
        store.close()


def main() -> int:
    """``python -m tests.store._arcadedb [--port 7687]``: the test server, until Ctrl-C
    (the README's example of a Bolt store)."""
    import argparse
    import tempfile

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--port", type=int, default=7687, help="Bolt port on 127.0.0.1")
    parser.add_argument("--root", type=Path, default=None, help="server directory (default: a new temporary one)")
    args = parser.parse_args()
    scratch = args.root is None
    root = args.root or Path(tempfile.mkdtemp(prefix="qualitas-arcadedb-"))
    server = ArcadeServer(root=root, bolt_port=args.port, http_port=_free_port())
    server.start()
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})  # after the JVM started
    print(f"Bolt server ready on {server.url} (database {DATABASE}, user {USER}); Ctrl-C to stop", flush=True)
    try:
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
    finally:
        server.stop()
        if scratch:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
