"""Every example in README.md, run as typed against a fresh demo store (issue 14, item 17).

Each line of a fenced ``bash`` block runs with ``bash -c`` (so ``# comments`` stay
comments) in a sandbox that looks like a fresh checkout after ``make run``: the repository's
files, ``.venv`` (the interpreter running the tests), and a store made by
``.venv/bin/qualitas demo load`` in the default place, ``./.qualitas/store``. It must exit 0.
Each fenced ``graphql`` block is POSTed to a real uvicorn server on 127.0.0.1 serving that
store, as the demo user (``demo key``), and must answer without errors and with data in
every field it asks for. The tests run in the README's order, as a reader would.

Not run, and why (each must still be in the README, so this list stays true):
``NOT_RUN`` below; pytest reports each as skipped with its reason. Commands that run until
Ctrl-C are run: a server in the background (``SERVERS``), a client stopped with SIGINT
(``UNTIL_CTRL_C``).

What the README cannot spell out, filled in from what the earlier commands printed:
``PLACEHOLDERS`` below; an example that needs one runs after the command that prints it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from qualitas.settings import Settings
from tests.graphql.serving import serve

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
SHELLS = ("bash", "sh", "shell", "console")

#: Commands in the README that this test does not run, with the reason.
NOT_RUN: dict[str, str] = {
    "make run": "long-running: installs, loads the demo and serves until Ctrl-C (this test does the "
    "demo load itself and serves the app under uvicorn for the GraphQL blocks and curl)",
    "make test": "runs the whole suite, this test included",
    '.venv/bin/qualitas alerts test --channel dingtalk --webhook "https://oapi.dingtalk.com/robot/send?access_token=..." '  # noqa: E501 (the README line)
    '--secret "SEC..."': "sends to a real chat robot, which needs its webhook URL and secret; "
    "tests/chat/test_outbound.py runs the command against loopback robots that check the signature",
    "QUALITAS_STORE_USER=dba QUALITAS_STORE_PASSWORD=... .venv/bin/qualitas --store http://127.0.0.1:8890/sparql "
    "demo load": "needs a Virtuoso server with its password; tests/store/test_sparql_cli.py runs the same commands "
    "against a Virtuoso 7 it starts",
}

#: Commands that run until Ctrl-C: a server is started in the background and left running
#: for the examples after it (stopped when the module ends); a client is stopped with
#: SIGINT, as Ctrl-C would, after ``CTRL_C_AFTER_S`` seconds, and must then exit 0.
SERVERS = {
    ".venv/bin/python -m qualitas.edge_adapters.simulator": "Ctrl-C to stop",
    ".venv/bin/oxigraph serve --location /tmp/oxigraph-data --bind 127.0.0.1:7878": "Listening for requests",
    ".venv/bin/python -m tests.store._arcadedb --port 7687": "Bolt server ready",
}
UNTIL_CTRL_C = {".venv/bin/qualitas edge run examples/edge/weld-line.yaml --store /tmp/edge-store": "samples"}
CTRL_C_AFTER_S = 6

#: Placeholder -> (what fills it, the README command that prints it: None for the demo key).
PLACEHOLDERS: dict[str, tuple[str, str | None]] = {
    "qk_...": ("the demo user's API key, as `make run` prints it", None),
    "<id>": ("the id of the key `keys create ana` printed (qk_<id>_<secret>)", "keys create"),
    "<packId>": ("the id of the pack the README's first `pack` command wrote", " pack "),
    "<pack-id>": ("the id of the pack the README's first `pack` command wrote", " pack "),
}

#: Where a command names a fixed machine location, the sandbox's own is used instead.
RELOCATED = {
    "/tmp/": "scratch directory of the sandbox (so a run leaves nothing in /tmp)",
    "http://127.0.0.1:8000": "the address of the test's uvicorn server (port 8000 may be taken)",
}


@dataclass(frozen=True)
class Example:
    line: int
    kind: str  # "shell" or "graphql"
    text: str

    @property
    def command(self) -> str:
        """A shell line without its trailing ``# comment``."""
        return self.text.split("  #")[0].strip() if self.kind == "shell" else self.text

    @property
    def label(self) -> str:
        first = self.text.strip().splitlines()[0] if self.kind == "shell" else " ".join(self.text.split())
        return f"README:{self.line} {first[:70]}"


def readme_examples(text: str) -> list[Example]:
    """Every shell line and GraphQL block in the fenced code of ``text``, in order."""
    found: list[Example] = []
    lang: str | None = None
    start = 0
    body: list[str] = []
    for number, line in enumerate(text.splitlines(), 1):
        if lang is None:
            opening = re.match(r"^```(\S*)\s*$", line)
            if opening:
                lang, start, body = opening.group(1) or "text", number, []
            continue
        if line.strip() == "```":
            if lang in SHELLS:
                for offset, command in enumerate(body, 1):
                    if command.strip() and not command.strip().startswith("#"):
                        found.append(Example(start + offset, "shell", command.strip()))
            elif lang == "graphql":
                found.append(Example(start + 1, "graphql", "\n".join(body)))
            lang = None
            continue
        body.append(line)
    assert lang is None, f"README.md: the code block opened at line {start} is never closed"
    return found


def _ordered(examples: list[Example]) -> list[Example]:
    """README order, except that an example needing a placeholder runs after the first
    command that prints it (``audit sign-pack <packId>`` comes before ``pack`` in the text)."""
    ordered = [e for e in examples if not _needs(e)]
    for example in (e for e in examples if _needs(e)):
        after = [i for i, e in enumerate(ordered) if e.line < example.line]
        for name in _needs(example):
            producer = PLACEHOLDERS[name][1]
            first = next(i for i, e in enumerate(ordered) if producer is not None and producer in f" {e.text} ")
            after.append(first)
        ordered.insert(max(after, default=-1) + 1, example)
    return ordered


def _needs(example: Example) -> list[str]:
    return [p for p, (_, producer) in PLACEHOLDERS.items() if producer is not None and p in example.command]


EXAMPLES = _ordered(readme_examples(README.read_text(encoding="utf-8")))


@dataclass
class Sandbox:
    root: Path
    env: dict[str, str]
    filled: dict[str, str] = field(default_factory=dict)
    background: list[subprocess.Popen[str]] = field(default_factory=list)

    @property
    def settings(self) -> Settings:
        return Settings(store=self.root / ".qualitas" / "store")

    def run(self, command: str, *, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "-c", command], cwd=self.root, env=self.env, capture_output=True, text=True,
            timeout=timeout, check=False,
        )

    def start(self, command: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            ["bash", "-c", f"exec {command}"], cwd=self.root, env=self.env, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, start_new_session=True,
        )

    def learn(self, output: str) -> None:
        """Remember what later examples need: a key id, a pack id."""
        if m := re.search(r"\bqk_([0-9a-f]+)_\S+", output):
            self.filled["<id>"] = m.group(1)
        if m := re.search(r"packs/([^/\s]+)\.zip", output):
            self.filled.setdefault("<packId>", m.group(1))
            self.filled.setdefault("<pack-id>", m.group(1))


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    root = tmp_path_factory.mktemp("readme")
    for entry in REPO.iterdir():
        if entry.name not in {".git", ".venv", ".qualitas", "packs", "test-artifacts", ".pytest_cache"}:
            (root / entry.name).symlink_to(entry)
    venv = Path(sys.prefix)
    if not (venv / "bin" / "qualitas").is_file():
        pytest.fail(f"{venv}/bin/qualitas is missing: run the tests from the project's .venv (make test)")
    (root / ".venv").symlink_to(venv)
    (root / "scratch").mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUALITAS_")}
    box = Sandbox(root=root, env=env)
    done = box.run(".venv/bin/qualitas demo load")
    assert done.returncode == 0, done.stderr
    key = box.run(".venv/bin/qualitas demo key")
    assert key.returncode == 0, key.stderr
    box.filled["qk_..."] = key.stdout.strip()
    yield box
    for process in box.background:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        if process.stdout is not None:
            process.stdout.close()  # else an unclosed pipe warns at exit (warnings are errors)
    shutil.rmtree(root / "scratch", ignore_errors=True)


def test_the_readme_has_examples_of_both_kinds() -> None:
    kinds = {e.kind for e in EXAMPLES}
    assert kinds == {"shell", "graphql"}
    assert len(EXAMPLES) > 30


def test_every_command_not_run_is_still_in_the_readme() -> None:
    commands = {e.command for e in EXAMPLES if e.kind == "shell"}
    listed = {*NOT_RUN, *SERVERS, *UNTIL_CTRL_C}
    assert listed <= commands, sorted(listed - commands)


def test_readme_examples_are_found_in_fenced_blocks_only() -> None:
    text = "intro `qualitas x`\n```bash\nqualitas a   # one\n\n# note\nqualitas b\n```\n```graphql\n{ f { g } }\n```\n"
    assert readme_examples(text) == [
        Example(3, "shell", "qualitas a   # one"),
        Example(6, "shell", "qualitas b"),
        Example(9, "graphql", "{ f { g } }"),
    ]


@pytest.mark.slow
@pytest.mark.parametrize("example", EXAMPLES, ids=[e.label for e in EXAMPLES])
def test_readme_example(example: Example, sandbox: Sandbox) -> None:
    if example.kind == "graphql":
        _query(example, sandbox)
        return
    if example.command in NOT_RUN:
        pytest.skip(f"not run: {NOT_RUN[example.command]}")
    text = example.command
    for placeholder in [p for p in PLACEHOLDERS if p in text]:
        assert placeholder in sandbox.filled, f"{example.label}: nothing printed {placeholder} before"
        text = text.replace(placeholder, sandbox.filled[placeholder])
    text = text.replace("/tmp/", f"{sandbox.root / 'scratch'}/")
    if example.command in SERVERS:
        _start_server(sandbox, text, ready=SERVERS[example.command])
        return
    if example.command in UNTIL_CTRL_C:
        _until_ctrl_c(sandbox, text, expect=UNTIL_CTRL_C[example.command])
        return
    if "http://127.0.0.1:8000" in text:
        with serve(sandbox.settings) as base:
            done = sandbox.run(text.replace("http://127.0.0.1:8000", base))
    else:
        done = sandbox.run(text)
    assert done.returncode == 0, (
        f"{example.label} exited {done.returncode}\n"
        f"--- stdout\n{done.stdout[-2000:]}\n--- stderr\n{done.stderr[-2000:]}"
    )
    assert "Traceback" not in done.stderr
    if text.startswith("curl"):
        assert json.loads(done.stdout)["token_type"] == "Bearer", done.stdout
    sandbox.learn(done.stdout + done.stderr)


def _start_server(sandbox: Sandbox, command: str, *, ready: str) -> None:
    process = sandbox.start(command)
    sandbox.background.append(process)
    assert process.stdout is not None
    first = process.stdout.readline()
    assert ready in first, f"{command!r} did not start: {first}{process.stdout.read() if process.poll() else ''}"


def _until_ctrl_c(sandbox: Sandbox, command: str, *, expect: str) -> None:
    process = sandbox.start(command)
    try:
        process.wait(timeout=CTRL_C_AFTER_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGINT)  # Ctrl-C reaches the terminal's process group
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 0, f"{command!r} exited {process.returncode} after Ctrl-C:\n{output[-2000:]}"
    assert expect in output and "Traceback" not in output, output[-2000:]


def _query(example: Example, sandbox: Sandbox) -> None:
    with serve(sandbox.settings) as base:
        response = httpx.post(
            f"{base}/graphql",
            json={"query": example.text},
            headers={"Authorization": f"Bearer {sandbox.filled['qk_...']}"},
            timeout=120,
        )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, f"{example.label}: {body['errors']}"
    empty = [name for name, value in body["data"].items() if value in (None, [], {})]
    assert empty == [], f"{example.label}: no data for {empty}"
