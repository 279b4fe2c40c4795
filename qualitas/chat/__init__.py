"""Chat alerts both ways: WeCom, DingTalk, Feishu/Lark and Slack robots.

_message    ChatAlert, Photo, Location: what a message says, whatever the app
_providers  each provider's signing, message body and rate limit, after its public docs
_config     YAML configuration, secrets from the environment
_send       ChatSender (rate limits, retries with backoff), ChatBridge (alert hub -> chat)
_inbound    DingTalk outgoing robot, Slack slash commands, Feishu events -> work orders
cli         ``qualitas alerts test``
"""

from qualitas.chat._config import Channel, ChatConfig, load_chat_config
from qualitas.chat._inbound import AnomalyReport, add_chat_routes, parse_command, record_anomaly
from qualitas.chat._message import ChatAlert, Location, Photo
from qualitas.chat._providers import PROVIDERS, RATE_LIMITS, Provider
from qualitas.chat._send import ChatBridge, ChatSender, Delivery, MediaStore, alarm_photo, alert_for
from qualitas.errors import DeliveryError

__all__ = [
    "PROVIDERS",
    "RATE_LIMITS",
    "AnomalyReport",
    "Channel",
    "ChatAlert",
    "ChatBridge",
    "ChatConfig",
    "ChatSender",
    "Delivery",
    "DeliveryError",
    "Location",
    "MediaStore",
    "Photo",
    "Provider",
    "add_chat_routes",
    "alarm_photo",
    "alert_for",
    "load_chat_config",
    "parse_command",
    "record_anomaly",
]
