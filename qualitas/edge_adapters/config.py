"""The edge configuration file (YAML), validated with pydantic.

One file describes a line: its sources (OPC UA servers, Modbus devices, cameras),
the SPC chart of each signal, the transient filter, the write targets with their
safety envelope, and the rules. See ``examples/edge/*.yaml``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from qualitas.errors import ConfigError, ParseError


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Security(_Model):
    """OPC UA message security with certificate files (PEM or DER)."""

    policy: Literal["Basic256Sha256", "Aes128Sha256RsaOaep", "Aes256Sha256RsaPss"] = "Basic256Sha256"
    mode: Literal["Sign", "SignAndEncrypt"] = "SignAndEncrypt"
    certificate: Path
    private_key: Path
    server_certificate: Path | None = None


class OpcUaNode(_Model):
    node: str  # e.g. "ns=2;s=Line3.Weld.Temperature"
    signal: str
    parameter: str | None = None  # business key of the q:ProcessParameter
    equipment: str | None = None  # business key of the q:Equipment


class OpcUaSource(_Model):
    kind: Literal["opcua"]
    name: str
    endpoint: str
    nodes: list[OpcUaNode] = []
    sampling_ms: float = 200.0
    publishing_ms: float = 200.0
    queue_size: int = 10
    security: Security | None = None
    timeout_s: float = 4.0
    reconnect_min_s: float = 0.2
    reconnect_max_s: float = 10.0


class Register(_Model):
    name: str
    signal: str | None = None  # None: a write-only register
    function: Literal["holding", "input", "coil", "discrete"] = "holding"
    address: int
    type: Literal["int16", "uint16", "int32", "uint32", "float32", "bool"] = "uint16"
    byte_order: Literal["big", "little"] = "big"
    word_order: Literal["big", "little"] = "big"
    scale: float = 1.0  # engineering value = raw * scale + offset
    offset: float = 0.0
    parameter: str | None = None
    equipment: str | None = None


class ModbusSource(_Model):
    kind: Literal["modbus"]
    name: str
    transport: Literal["tcp", "rtu"] = "tcp"
    host: str = "127.0.0.1"
    port: int = 502
    serial_port: str | None = None  # for RTU, e.g. /dev/ttyUSB0
    baudrate: int = 19200
    parity: Literal["N", "E", "O"] = "N"  # RTU line settings: 8 data bits, parity, stop bits
    stopbits: Literal[1, 2] = 1
    device_id: int = 1
    poll_ms: float = 200.0
    timeout_s: float = 1.0
    registers: list[Register] = []
    reconnect_min_s: float = 0.2
    reconnect_max_s: float = 10.0


class VisionDrift(_Model):
    """Drift watch of a camera (qualitas.edge_adapters.vision.drift): PSI of a sliding
    window of frames against the model's training distribution."""

    reference: Path | None = None  # default: the registered model's, else the bundled model's synthetic set
    window: int = 200
    every: int = 50
    threshold: float = 0.25


class VisionSource(_Model):
    kind: Literal["vision"]
    name: str
    folder: Path | None = None
    files: list[Path] = []
    model: Path | None = None
    station: str | None = None  # without `model`: the model deployed here in the registry (followed live)
    drift: VisionDrift | None = None
    fps: float = 120.0
    loop: bool = False  # replay the folder forever (a simulated camera)
    signal_prefix: str | None = None  # default: the source name


Source = Annotated[OpcUaSource | ModbusSource | VisionSource, Field(discriminator="kind")]


class Corroboration(_Model):
    consecutive: int | None = None
    sources: int | None = None  # minimum distinct sources
    window_s: float = 1.0

    @model_validator(mode="after")
    def _one(self) -> Corroboration:
        if self.consecutive is None and self.sources is None:
            raise ValueError("corroborate needs consecutive: N or sources: M")
        return self


class SpcSpec(_Model):
    chart: Literal["individuals", "xbar_r"] = "individuals"
    subgroup: int = 5
    baseline: int = 25
    center: float | None = None
    sigma: float | None = None
    rules: list[str] = ["nelson1", "nelson2", "nelson3", "nelson5", "nelson6"]
    ewma: dict[str, float] | None = None  # {lambda: 0.2, L: 3}
    cusum: dict[str, float] | None = None  # {k: 0.5, h: 5}
    lsl: float | None = None
    usl: float | None = None
    corroborate: Corroboration = Corroboration(consecutive=2)
    parameter: str | None = None
    equipment: str | None = None


class Target(_Model):
    """A writable parameter on the line and its safety envelope (enforced by the engine)."""

    source: str
    node: str | None = None  # OPC UA node id
    register_name: str | None = Field(default=None, alias="register")  # Modbus register name
    min: float
    max: float
    max_step: float
    min_interval_s: float = 5.0  # rate limit: at most one write per interval
    on_violation: Literal["clamp", "refuse"] = "clamp"
    parameter: str | None = None
    equipment: str | None = None

    @model_validator(mode="after")
    def _address(self) -> Target:
        if (self.node is None) == (self.register_name is None):
            raise ValueError("a target needs exactly one of node (OPC UA) or register (Modbus)")
        if self.min > self.max or self.max_step <= 0:
            raise ValueError("a target needs min <= max and max_step > 0")
        return self


class Condition(_Model):
    """``signal`` with ``above``/``below``/``outside``, ``alarm`` (an SPC alarm on a signal,
    optionally only for some ``rules``), or ``all``/``any`` of conditions."""

    signal: str | None = None
    above: float | None = None
    below: float | None = None
    outside: tuple[float, float] | None = None
    alarm: str | None = None
    rules: list[str] | None = None
    all: list[Condition] | None = None
    any: list[Condition] | None = None

    @model_validator(mode="after")
    def _shape(self) -> Condition:
        kinds = sum(x is not None for x in (self.signal, self.alarm, self.all, self.any))
        if kinds != 1:
            raise ValueError("a condition is exactly one of signal, alarm, all, any")
        if self.signal is not None and sum(x is not None for x in (self.above, self.below, self.outside)) != 1:
            raise ValueError("a signal condition needs one of above, below, outside")
        return self


class Action(_Model):
    set: dict[str, Any] | None = None  # {target: weld_current, value: 150}
    change: dict[str, Any] | None = None  # {target: weld_current, by: -3.2}
    alert: dict[str, Any] | None = None  # {severity: warning, message: "..."}
    work_order: dict[str, Any] | None = None  # {title: "...", assignee: "..."}

    @model_validator(mode="after")
    def _one(self) -> Action:
        if sum(x is not None for x in (self.set, self.change, self.alert, self.work_order)) != 1:
            raise ValueError("an action is exactly one of set, change, alert, work_order")
        for name, spec in (("set", self.set), ("change", self.change)):
            if spec is not None and ("target" not in spec or ("value" if name == "set" else "by") not in spec):
                raise ValueError(f"{name} needs target and {'value' if name == 'set' else 'by'}")
        return self

    @property
    def kind(self) -> str:
        for name in ("set", "change", "alert", "work_order"):
            if getattr(self, name) is not None:
                return name
        raise AssertionError

    @property
    def writes(self) -> bool:
        return self.set is not None or self.change is not None


class Rule(_Model):
    id: str
    description: str = ""
    when: Condition
    then: list[Action]
    corroborate: Corroboration | None = None
    #: After the rule fires, further firings within this many seconds are counted,
    #: not acted on: one excursion opens one work order, not one per alarm.
    cooldown_s: float = Field(default=0.0, ge=0)
    enabled: bool = True


class RunInfo(_Model):
    id: str
    equipment: str | None = None
    step: str | None = None


class BufferSpec(_Model):
    capacity: int = 10_000
    path: Path | None = None


class EdgeConfig(_Model):
    run: RunInfo
    agent: str = "qualitas-edge"
    store: Path | None = None
    series_dir: Path = Path(".qualitas/series")
    #: The frames vision alarms fired on, one file per alarm, at most ``frames_keep`` kept.
    frames_dir: Path = Path(".qualitas/alarm-frames")
    frames_keep: int = Field(default=500, ge=1)
    buffer: BufferSpec = BufferSpec()
    dry_run: bool = False
    sources: list[Source] = []
    spc: dict[str, SpcSpec] = {}
    targets: dict[str, Target] = {}
    rules: list[Rule] = []

    @model_validator(mode="after")
    def _references(self) -> EdgeConfig:
        names = {s.name for s in self.sources}
        for key, target in self.targets.items():
            if target.source not in names:
                raise ValueError(f"target {key!r} names unknown source {target.source!r}")
        for rule in self.rules:
            for action in rule.then:
                spec = action.set or action.change
                if spec is not None and spec["target"] not in self.targets:
                    raise ValueError(f"rule {rule.id!r} writes unknown target {spec['target']!r}")
        return self


def load_config(path: Path | str) -> EdgeConfig:
    """Read and validate an edge YAML file; relative paths are resolved against its folder."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read edge config {path}: {exc}", file=str(path)) from exc
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        raise ParseError(f"invalid YAML: {exc}", file=path, line=line + 1 if line is not None else None) from exc
    config = parse_config(raw, where=str(path))
    base = path.parent
    updates: dict[str, Any] = {}
    if not config.series_dir.is_absolute():
        updates["series_dir"] = base / config.series_dir
    if not config.frames_dir.is_absolute():
        updates["frames_dir"] = base / config.frames_dir
    if config.store is not None and not config.store.is_absolute():
        updates["store"] = base / config.store
    if config.buffer.path is not None and not config.buffer.path.is_absolute():
        updates["buffer"] = config.buffer.model_copy(update={"path": base / config.buffer.path})
    sources = []
    for source in config.sources:
        if isinstance(source, VisionSource):
            source = source.model_copy(
                update={
                    "folder": base / source.folder
                    if source.folder and not source.folder.is_absolute()
                    else source.folder,
                    "files": [f if f.is_absolute() else base / f for f in source.files],
                    "model": base / source.model if source.model and not source.model.is_absolute() else source.model,
                    "drift": source.drift.model_copy(update={"reference": base / source.drift.reference})
                    if source.drift and source.drift.reference and not source.drift.reference.is_absolute()
                    else source.drift,
                }
            )
        sources.append(source)
    updates["sources"] = sources
    return config.model_copy(update=updates)


def parse_config(raw: object, *, where: str = "<config>") -> EdgeConfig:
    try:
        return EdgeConfig.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"{where}: {loc}: {first['msg']}", file=where) from exc
