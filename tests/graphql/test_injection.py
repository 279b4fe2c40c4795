"""Injection strings (SPARQL, Cypher, template syntax and friends) in every string argument
are harmless, against the real server under uvicorn.

The cases are generated from the schema, not listed by hand: every root field of
``Query`` and ``Mutation`` and every argument whose type is ``String`` or ``ID`` (lists of
them, and string fields of input objects such as ``ObservationInput``) is called as
``admin`` with each payload, as a variable and, for plain string arguments, once more
inline as a properly escaped literal. Other required arguments get valid-looking values.
A new field or argument is covered without touching this file.

Each call must answer HTTP 200 with no unhandled error (strawberry puts no
``extensions.code`` on an unexpected exception; ``INTERNAL`` is our code for one), must
not evaluate a template (``{{7*7}}`` never comes back as ``49``), and must leave the graph
as it was, except where a mutation stores the string as data (see :data:`WRITES`).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    get_named_type,
    is_required_argument,
    is_required_input_field,
)
from graphql.language.print_string import print_string
from websockets.asyncio.client import connect

from qualitas.graphql.schema import build_schema
from qualitas.settings import Settings
from qualitas.store import open_store
from tests.graphql.serving import gql

PAYLOADS: dict[str, str] = {
    "sparql-drop": 'x" } ; DROP ALL ; #',
    "sparql-insert": "x> } INSERT DATA { <urn:a> <urn:b> <urn:c> } #",
    "sparql-filter": '\\" . ?s ?p ?o . FILTER(true) #',
    "sparql-union": "<http://evil/> UNION { ?s ?p ?o }",
    "cypher-delete": "x' }) MATCH (n) DETACH DELETE n //",
    "cypher-or": '" OR 1=1 WITH n CALL db.labels() //',
    "jinja": "{{7*7}}",
    "jinja-loop": "{% for x in range(3) %}boom{% endfor %}",
    "dollar": "${7*7}",
    "erb": "<%= 7*7 %>",
    "ruby": "#{7*7}",
    "path": "../../etc/passwd",
    "html": "<script>alert(1)</script>",
    "control": "a\u0000b\u001b[31m\r\nc",
    "long": "x" * 10_000,
    "unicode": "中文\u202e",
}

#: One payload of each family, for arguments that reach expensive work on every call.
SAMPLE = ("sparql-insert", "cypher-delete", "jinja", "jinja-loop", "path", "control")

STRINGS = frozenset({"String", "ID"})

#: Valid-looking values of the other arguments (and input fields), by name; a
#: (field, argument) entry wins over a name entry. Anything else string-typed gets "x".
BY_NAME: dict[str, Any] = {
    "productId": "AG-125",
    "market": "EU",
    "complaintId": "CMP-2025-0057",
    "lotId": "ALC-24-0731",
    "lotNumber": "ALC-24-0731",
    "partNumber": "BMS-400",
    "grade": "AlSi10Mg",
    "supplierId": "SUP-ALC",
    "runId": "AS-240918-02",
    "equipmentId": "ASM-02",
    "equipment": "ASM-02",
    "parameter": "PULL-FORCE",
    "serial": "BP75-24-001337",
    "user": "admin-user",
    "role": "auditor",
    "name": "x",
    "files": "x.txt",
}
BY_FIELD: dict[tuple[str, str], Any] = {
    ("product", "id"): "AG-125",
    ("complaint", "id"): "CMP-2025-0057",
    ("regulation", "id"): "eu-lvd-2014-35",
    ("generatePack", "market"): "VN",  # the quickest pack to build
}
SCALARS: dict[str, Any] = {
    "Int": 1,
    "Float": 1.0,
    "Boolean": False,
    "Date": "2026-01-01",
    "DateTime": "2026-01-01T00:00:00Z",
    "Decimal": "1",
    "JSON": {},
}
#: Optional arguments passed on every call of a field, to take the string further in.
EXTRA: dict[str, dict[str, Any]] = {
    # a final pack with open findings records the override (who, why) in the graph
    "generatePack": {"final": True, "overrideBy": "injection-tests", "overrideReason": "injection tests"},
}
#: Fields that write to the graph by design, with the injection string stored as a literal.
WRITES = {
    "generatePack": "a final pack records its override (overrideBy, overrideReason) as PROV literals",
    "recordObservations": "observations are written with their signal, unit and run as data",
    "openCapa": "a CAPA opened without a complaint stores its title (and the names it is given) as data",
}
#: Arguments whose every call builds a pack: a sample of payloads, by variable only.
SAMPLED = frozenset({("generatePack", "overrideBy"), ("generatePack", "overrideReason")})


@dataclass(frozen=True)
class Target:
    """A string somewhere in one argument: ``path`` names input-object fields inside it."""

    argument: str
    path: tuple[str, ...]
    plain: bool  # a String/ID argument itself, not in a list or input object


@dataclass(frozen=True)
class Case:
    root: str  # Query or Mutation
    name: str
    field: GraphQLField
    targets: tuple[Target, ...]


def _string_paths(type_: GraphQLInputType, depth: int = 0) -> list[tuple[str, ...]]:
    named = get_named_type(type_)
    if isinstance(named, GraphQLScalarType) and named.name in STRINGS:
        return [()]
    if isinstance(named, GraphQLInputObjectType) and depth < 4:
        return [(n, *p) for n, f in named.fields.items() for p in _string_paths(f.type, depth + 1)]
    return []


def _cases() -> list[Case]:
    schema = build_schema()._schema
    cases = []
    for root in (schema.query_type, schema.mutation_type):
        assert root is not None
        for name, field in root.fields.items():
            targets = tuple(
                Target(arg_name, path, plain=not path and isinstance(_nullable(arg.type), GraphQLScalarType))
                for arg_name, arg in field.args.items()
                for path in _string_paths(arg.type)
            )
            if targets:
                cases.append(Case(root.name, name, field, targets))
    return cases


def _nullable(type_: Any) -> Any:
    return type_.of_type if isinstance(type_, GraphQLNonNull) else type_


def _value(
    type_: Any, *, field: str, name: str, defaults: dict[str, Any], inject: tuple[str, ...] | None, payload: str
) -> Any:
    """A valid-looking value of ``type_``, with ``payload`` at ``inject`` (a path of input fields)."""
    type_ = _nullable(type_)
    if isinstance(type_, GraphQLList):
        return [_value(type_.of_type, field=field, name=name, defaults=defaults, inject=inject, payload=payload)]
    if isinstance(type_, GraphQLInputObjectType):
        out = {}
        for n, f in type_.fields.items():
            here = inject[1:] if inject and inject[0] == n else None
            if here is not None or is_required_input_field(f):
                out[n] = _value(f.type, field=field, name=n, defaults=defaults, inject=here, payload=payload)
        return out
    if inject == ():
        return payload
    if isinstance(type_, GraphQLEnumType):
        return next(iter(type_.values))
    if type_.name in SCALARS:
        return SCALARS[type_.name]
    return BY_FIELD.get((field, name), defaults.get(name, "x"))


def _literal(value: Any, type_: Any) -> str:
    """``value`` as a GraphQL literal of ``type_``, strings escaped by graphql-core's printer."""
    type_ = _nullable(type_)
    if value is None:
        return "null"
    if isinstance(type_, GraphQLList):
        return "[" + ", ".join(_literal(v, type_.of_type) for v in value) + "]"
    if isinstance(type_, GraphQLInputObjectType):
        return "{" + ", ".join(f"{k}: {_literal(v, type_.fields[k].type)}" for k, v in value.items()) + "}"
    if isinstance(type_, GraphQLEnumType):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return print_string(str(value))


def _document(
    case: Case, target: Target, payload: str, *, defaults: dict[str, Any], inline: bool
) -> tuple[str, dict[str, Any]]:
    values: dict[str, Any] = {}
    for arg_name, arg in case.field.args.items():
        if arg_name == target.argument:
            values[arg_name] = _value(
                arg.type, field=case.name, name=arg_name, defaults=defaults, inject=target.path, payload=payload
            )
        elif arg_name in EXTRA.get(case.name, {}):
            values[arg_name] = EXTRA[case.name][arg_name]
        elif is_required_argument(arg):
            values[arg_name] = _value(
                arg.type, field=case.name, name=arg_name, defaults=defaults, inject=None, payload=payload
            )
    named = get_named_type(case.field.type)
    selection = " { __typename }" if not isinstance(named, GraphQLScalarType | GraphQLEnumType) else ""
    operation = case.root.lower()
    if inline:
        args = ", ".join(f"{n}: {_literal(v, case.field.args[n].type)}" for n, v in values.items())
        return f"{operation} {{ {case.name}({args}){selection} }}", {}
    declared = ", ".join(f"${n}: {case.field.args[n].type}" for n in values)
    args = ", ".join(f"{n}: ${n}" for n in values)
    return f"{operation}({declared}) {{ {case.name}({args}){selection} }}", values


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for v in node.values():
            yield from _strings(v)
    elif isinstance(node, list):
        for v in node:
            yield from _strings(v)


def _problems(status: int, body: dict[str, Any], payload: str) -> list[str]:
    """What is wrong with one answer: an unhandled error, an evaluated template. A clean
    refusal of a control character (HTTP 400, ``BAD_INPUT``, one line naming where) is a
    handled answer: identifiers and text must not carry NUL or escape sequences."""
    if status == 400 and ("\x00" in payload or "\x1b" in payload):
        codes = [(e.get("extensions") or {}).get("code") for e in body.get("errors") or []]
        if codes == ["BAD_INPUT"] and "control character" in body["errors"][0]["message"]:
            return []
    if status != 200:
        return [f"HTTP {status}: {json.dumps(body)[:500]}"]
    found = []
    for error in body.get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        if code in (None, "INTERNAL"):
            found.append(f"unhandled error (code {code}): {error.get('message', '')[:300]}")
    text = json.dumps(body, ensure_ascii=False)
    if "boomboom" in text:
        found.append("a template loop ran: 'boomboom' in the answer")
    if "7*7" in payload:
        evaluated = [s for s in _strings(body) if "49" in s and payload not in s]
        if evaluated:
            found.append(f"'49' without the template it came from: {evaluated[0][:300]!r}")
    return found


CASES = _cases()
_COUNTERS = frozenset(f"<https://w3id.org/qualitas/ontology#{name}>" for name in ("liveTriples", "batchCount"))


@pytest.fixture(scope="module")
def api_settings(demo_store_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The module's server with an ingest folder, so ``loadFiles`` checks the names it is given.
    Its one file is no known format: a load of it fails and writes nothing."""
    drop = tmp_path_factory.mktemp("drop")
    (drop / "x.txt").write_text("not data\n", encoding="utf-8")
    return Settings(store=demo_store_dir, ingest_dir=drop)


@pytest.fixture(scope="module")
def defaults(api_server: str, api_keys: dict[str, str]) -> dict[str, Any]:
    """:data:`BY_NAME` plus the id of a real (draft) pack, so pack arguments reach the pack."""
    body = gql(
        api_server,
        'mutation { generatePack(productId: "AG-125", market: "VN") { packId } }',
        key=api_keys["admin"],
    )
    assert "errors" not in body, body
    return {**BY_NAME, "packId": body["data"]["generatePack"]["packId"]}


def _snapshot(store_dir: Path) -> frozenset[tuple[str, str, str, str]]:
    with open_store(store_dir, read_only=True) as store:
        return store.snapshot()


def _live_triples(base: str) -> int:
    return int(httpx.get(f"{base}/healthz", timeout=10).json()["triples"])


def _wait_for_loads(client: httpx.Client) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        jobs = client.post("/graphql", json={"query": "{ loadJobs(limit: 100) { state } }"}).json()
        if not any(j["state"] in {"QUEUED", "RUNNING"} for j in jobs["data"]["loadJobs"]):
            return
        time.sleep(0.05)
    pytest.fail("load jobs still running after 30 s")


def test_every_string_argument_is_covered() -> None:
    """The generator found the arguments it should: a broken walk would pass vacuously."""
    covered = {(c.name, t.argument, t.path) for c in CASES for t in c.targets}
    for expected in (
        ("product", "id", ()),
        ("trace", "complaintId", ()),
        ("parts", "after", ()),
        ("generatePack", "languages", ()),
        ("loadFiles", "files", ()),
        ("recordObservations", "observations", ("signal",)),
        ("signPack", "reason", ()),
    ):
        assert expected in covered, expected
    assert len(CASES) >= 40


@pytest.mark.parametrize("case", CASES, ids=[f"{c.root}.{c.name}" for c in CASES])
def test_injection_strings_are_harmless(
    case: Case, api_server: str, api_keys: dict[str, str], api_settings: Settings, defaults: dict[str, Any]
) -> None:
    # The live count comes from the server's own store (/healthz); a read-only view opened
    # beside it may not see its latest writes, so it is a second check, not the only one.
    live_before = _live_triples(api_server)
    before = _snapshot(api_settings.store)
    failures: list[str] = []
    calls = 0
    headers = {"Authorization": f"Bearer {api_keys['admin']}"}
    with httpx.Client(base_url=api_server, headers=headers, timeout=60) as client:
        for target in case.targets:
            sampled = (case.name, target.argument) in SAMPLED
            for label, payload in PAYLOADS.items():
                if sampled and label not in SAMPLE:
                    continue
                for inline in (False, True) if target.plain and not sampled else (False,):
                    query, variables = _document(case, target, payload, defaults=defaults, inline=inline)
                    response = client.post("/graphql", json={"query": query, "variables": variables})
                    calls += 1
                    for problem in _problems(response.status_code, response.json(), payload):
                        where = ".".join((target.argument, *target.path))
                        how = "literal" if inline else "variable"
                        failures.append(f"{case.name}({where}) {label} as {how}: {problem}")
        if case.name == "loadFiles":
            _wait_for_loads(client)
    after = _snapshot(api_settings.store)
    live_after = _live_triples(api_server)
    if any(q[:3] == ("urn:a", "urn:b", "urn:c") for q in after):
        failures.append("the INSERT DATA of a payload ran: <urn:a> <urn:b> <urn:c> is in the graph")
    if case.name in WRITES:
        # It may add its data, never touch what was there; the store's own counters in
        # its metadata graph (live triples, batch count) move with every commit.
        removed = {q for q in before - after
                   if not (q[0] == q[3] == "<https://w3id.org/qualitas/graph/meta>"
                           and q[1] in _COUNTERS)}
        if removed:
            failures.append(f"{len(removed)} quads removed, e.g. {sorted(removed)[:3]}")
        if live_after <= live_before:
            failures.append(f"nothing was written ({live_before} triples): the write path went untested")
    elif live_after != live_before:
        failures.append(f"the live store changed: {live_before} -> {live_after} triples")
    elif before != after:
        failures.append(f"the graph changed: +{len(after - before)} -{len(before - after)} quads")
    if failures:
        pytest.fail(f"{case.root}.{case.name}, {calls} calls:\n" + "\n".join(failures[:40]), pytrace=False)


async def test_ingest_progress_job_id(api_server: str, api_keys: dict[str, str]) -> None:
    """The one subscription with a string argument, over graphql-transport-ws."""
    url = api_server.replace("http://", "ws://") + "/graphql"
    failures = []
    query = "subscription($jobId: String!) { ingestProgress(jobId: $jobId) { jobId } }"
    async with connect(url, subprotocols=["graphql-transport-ws"], max_size=2**22) as ws:  # type: ignore[list-item]
        await ws.send(
            json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {api_keys['admin']}"}})
        )
        assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "connection_ack"
        for n, (label, payload) in enumerate(PAYLOADS.items()):
            await ws.send(
                json.dumps(
                    {"id": str(n), "type": "subscribe", "payload": {"query": query, "variables": {"jobId": payload}}}
                )
            )
            message = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert message["id"] == str(n), message
            if message["type"] == "next":
                body = message["payload"]
            elif message["type"] == "error":
                body = {"errors": message["payload"]}
            else:
                failures.append(f"{label}: unexpected {message}")
                continue
            if not body.get("errors"):
                failures.append(f"{label}: a job {payload[:40]!r} was found: {message}")
            failures += [f"{label}: {p}" for p in _problems(200, body, payload)]
            if message["type"] == "next":
                done = json.loads(await asyncio.wait_for(ws.recv(), 5))
                assert done == {"id": str(n), "type": "complete"}, done
    if failures:
        pytest.fail("ingestProgress(jobId):\n" + "\n".join(failures), pytrace=False)
