"""Chat configuration (YAML), with every secret taken from the environment.

::

    explorer_url: https://qualitas.plant.example      # links back from messages
    media_url: https://qualitas.plant.example/chat/media  # public base URL for photos (optional)
    media_dir: .qualitas/chat-media                   # where photos are kept (relative: to this file)
    channels:
      - name: line2-dingtalk
        provider: dingtalk                            # dingtalk | wecom | feishu | slack
        webhook: ${QUALITAS_DINGTALK_WEBHOOK}
        secret: ${QUALITAS_DINGTALK_SECRET}           # DingTalk and Feishu signing secret
        severities: [warning, critical]               # which alarms go here (default: all)
    inbound:
      dingtalk:
        app_secret: ${QUALITAS_DINGTALK_APP_SECRET}
      slack:
        signing_secret: ${QUALITAS_SLACK_SIGNING_SECRET}
      feishu:
        encrypt_key: ${QUALITAS_FEISHU_ENCRYPT_KEY}
        verification_token: ${QUALITAS_FEISHU_TOKEN}

``${NAME}`` is replaced by the environment variable ``NAME``; a secret field (``secret``,
``app_secret``, ``signing_secret``, ``encrypt_key``, ``verification_token``) written out
literally is refused, so a secret never sits in a file that gets committed. A webhook URL
may be literal (Slack's and WeCom's carry their key in the URL: prefer ``${...}`` there too).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from qualitas.chat._providers import PROVIDERS, Provider
from qualitas.errors import ConfigError

_REF = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")
_SECRET_FIELDS = {"secret", "app_secret", "signing_secret", "encrypt_key", "verification_token"}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Channel(_Model):
    name: str
    provider: Provider
    webhook: str
    secret: str | None = None
    severities: tuple[str, ...] = ("info", "warning", "critical")
    #: Tighter than the provider's documented limit, never looser (None: the documented one).
    per_minute: int | None = Field(default=None, ge=1)


class DingTalkInbound(_Model):
    app_secret: str


class SlackInbound(_Model):
    signing_secret: str


class FeishuInbound(_Model):
    encrypt_key: str | None = None
    verification_token: str | None = None


class Inbound(_Model):
    dingtalk: DingTalkInbound | None = None
    slack: SlackInbound | None = None
    feishu: FeishuInbound | None = None


class Place(_Model):
    line: str | None = None
    station: str | None = None
    equipment: str | None = None


class ChatConfig(_Model):
    explorer_url: str | None = None
    #: Where each signal or piece of equipment is (``FC-12: {line: L2, station: S5}``), for messages.
    places: dict[str, Place] = {}
    media_url: str | None = None
    media_dir: Path = Path(".qualitas/chat-media")
    channels: tuple[Channel, ...] = ()
    inbound: Inbound = Inbound()

    def link(self, fragment: str) -> str | None:
        """A link into the explorer (``fragment`` is the part after ``#``), or None."""
        if not self.explorer_url:
            return None
        return f"{self.explorer_url.rstrip('/')}/#{fragment}"


def _expand(value: Any, *, where: str, key: str | None, env: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: _expand(v, where=f"{where}.{k}", key=str(k), env=env) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, where=f"{where}[{i}]", key=None, env=env) for i, v in enumerate(value)]
    if isinstance(value, str):
        m = _REF.match(value.strip())
        if m:
            name = m.group(1)
            if name not in env or not env[name]:
                raise ConfigError(f"{where}: the environment variable {name} is not set", field=where)
            return env[name]
        if key in _SECRET_FIELDS:
            raise ConfigError(f"{where}: a secret must come from the environment, write ${{VARIABLE}}", field=where)
    return value


def load_chat_config(path: Path | str, *, env: dict[str, str] | None = None) -> ChatConfig:
    """Read and check a chat YAML file (see the module docstring); ``media_dir`` relative
    to the file's folder. Errors name the file and the field."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the chat configuration: {exc.strerror}", file=str(path)) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}", file=str(path)) from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping at the top", file=str(path))
    data = _expand(raw, where=str(path), key=None, env=dict(os.environ if env is None else env))
    try:
        config = ChatConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"{path}: {where}: {first['msg']}", file=str(path), field=where) from exc
    names = [c.name for c in config.channels]
    if len(set(names)) != len(names):
        raise ConfigError(f"{path}: channel names must be unique", file=str(path))
    if not config.media_dir.is_absolute():
        config = config.model_copy(update={"media_dir": (path.parent / config.media_dir).resolve()})
    return config


ProviderName = Literal["dingtalk", "wecom", "feishu", "slack"]
assert set(PROVIDERS) == {"dingtalk", "wecom", "feishu", "slack"}
