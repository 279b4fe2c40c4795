"""``qualitas alerts ...``: chat robots (DingTalk, WeCom, Feishu/Lark, Slack).

Mounted by the root CLI through its ``PLUGINS`` list (``register(app)``).
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from qualitas.errors import QualitasError, mapping_for

alerts_app = typer.Typer(
    help="Chat alerts: send to and receive from DingTalk, WeCom, Feishu and Slack.", no_args_is_help=True
)
err = Console(stderr=True)
out = Console()


def register(app: typer.Typer) -> None:
    app.add_typer(alerts_app, name="alerts")


@alerts_app.command("test")
def test_message(
    channel: Annotated[str, typer.Option("--channel", help="dingtalk, wecom, feishu or slack.")],
    webhook: Annotated[str | None, typer.Option("--webhook", help="The robot's webhook URL.")] = None,
    secret: Annotated[
        str | None,
        typer.Option("--secret", help="Signing secret (DingTalk, Feishu); default: $QUALITAS_CHAT_SECRET."),
    ] = None,
    photo: Annotated[Path | None, typer.Option("--photo", help="A PNG or JPEG to send along.")] = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="Chat YAML: send to its channel named CHANNEL instead.")
    ] = None,
) -> None:
    """Send one test message, signed as the provider documents, and say what the robot answered."""
    from qualitas.chat import PROVIDERS, Channel, ChatAlert, ChatSender, Location, Photo, load_chat_config

    try:
        if config is not None:
            chat = load_chat_config(config)
            matches = [c for c in chat.channels if c.name == channel]
            if not matches:
                raise typer.BadParameter(f"{config} has no channel named {channel!r}", param_hint="--channel")
            spec = matches[0]
        else:
            if channel not in PROVIDERS:
                raise typer.BadParameter(f"must be one of {', '.join(PROVIDERS)}", param_hint="--channel")
            if not webhook:
                raise typer.BadParameter("give the robot's webhook URL (or --config)", param_hint="--webhook")
            spec = Channel(
                name=channel,
                provider=channel,
                webhook=webhook,
                secret=secret or os.environ.get("QUALITAS_CHAT_SECRET") or None,
            )
        alert = ChatAlert(
            title="Qualitas test message",
            text=f"Test from qualitas alerts test at {time.strftime('%Y-%m-%d %H:%M:%S %Z')}: the robot is reachable"
            + (" and the signature is accepted." if spec.secret else "."),
            severity="info",
            location=Location(),
            photo=Photo.from_file(photo) if photo is not None else None,
            plain=photo is None,
        )

        async def send() -> None:
            async with ChatSender([spec], retries=2) as sender:
                delivery = await sender.send(spec.name, alert)
            out.print(
                f"sent to {spec.provider} channel {spec.name}: {delivery.requests} request(s), "
                f"{delivery.attempts} attempt(s)",
                highlight=False,
            )

        asyncio.run(send())
    except QualitasError as exc:
        err.print(f"[red]error:[/red] {exc.message}", highlight=False, soft_wrap=True)
        raise typer.Exit(mapping_for(exc).exit_code) from exc
