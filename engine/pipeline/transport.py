"""Kombu's Redis transport, hardened against malformed items on the queue.

Upstream systems may write to the queue list themselves. Stock kombu parses each popped item as
its JSON envelope inside the worker's event loop; an item that is not one (plain text, JSON of
another shape) raises there and stops the worker ("Unrecoverable error"). This channel checks the
envelope first: a bad item is recorded in ``rejections`` (channel ``queue``) and dropped, and the
worker keeps consuming. engine.pipeline.celery_app registers it under the ``redis`` transport name.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import redis
from kombu.transport import redis as kombu_redis
from kombu.utils.encoding import bytes_to_str

log = logging.getLogger(__name__)


def envelope_problem(item: bytes | str) -> tuple[Any, str | None]:
    """(payload, None) for a well-formed kombu envelope, else (None, why it is not one)."""
    try:
        payload = json.loads(bytes_to_str(item))
    except (ValueError, UnicodeDecodeError) as exc:
        return None, f"queue item is not JSON: {exc}"
    if not isinstance(payload, dict):
        return None, "queue item is not a message envelope (a JSON object)"
    props = payload.get("properties")
    if not isinstance(props, dict) or "delivery_tag" not in props:
        return None, "queue item has no properties.delivery_tag: not a Celery/kombu message"
    info = props.get("delivery_info")
    if not isinstance(info, dict) or "exchange" not in info or "routing_key" not in info:
        return None, "message has no properties.delivery_info {exchange, routing_key}"
    body = payload.get("body")
    if body is not None and not isinstance(body, str):
        return None, "message body must be a string"
    if props.get("body_encoding") == "base64" and body:
        try:
            base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            return None, "message body is not valid base64"
    return payload, None


def record_bad_item(item: bytes | str, reason: str) -> None:
    log.error("malformed queue item dropped: %s", reason)
    try:
        from engine.storage.repository import record_rejection

        record_rejection(
            "queue", item, [{"pointer": "", "message": reason, "type": "malformed_message"}]
        )
    except Exception:
        log.exception("could not record a malformed queue item")


class Channel(kombu_redis.Channel):
    _shared_client: Any = None

    def _connparams(self, asynchronous: bool = False) -> dict[str, Any]:
        # When the broker drops, Celery closes the connection (kombu sets the transport's client
        # to None) while pool processes are still finishing tasks. Their acks, and the unacked
        # restore timer, then reach this channel; stock kombu rebuilds a pool from the detached
        # connection and raises AttributeError ('NoneType' ... 'hostname'), which is not a
        # connection error, so the worker stopped ("Unrecoverable error"). A connection error
        # is what it is: Celery logs the failed ack, reconnects, and the message is redelivered
        # after the visibility timeout (deciding it again is a no-op).
        transport = self.connection
        if transport is None or getattr(transport, "client", None) is None:
            raise redis.exceptions.ConnectionError(
                "broker connection was closed; reconnecting (the message will be redelivered)"
            )
        return super()._connparams(asynchronous=asynchronous)

    @contextmanager
    def conn_or_acquire(self, client: Any = None) -> Iterator[Any]:
        # Stock kombu builds a new redis.Redis (and its ~170 response callbacks) for every
        # publish; one client over the channel's pool is thread-safe and saves that per message.
        if client:
            yield client
            return
        shared = self._shared_client
        if shared is None or shared.connection_pool is not self.pool:
            shared = self._shared_client = self._create_client()
        yield shared

    def _brpop_read(self, **options: Any) -> bool:
        try:
            try:
                dest__item = self.client.parse_response(self.client.connection, "BRPOP", **options)
            except self.connection_errors:
                self.client.connection.disconnect()
                raise
            if not dest__item:
                raise kombu_redis.Empty()
            dest, item = dest__item
            dest = bytes_to_str(dest).rsplit(self.sep, 1)[0]
            self._queue_cycle.rotate(dest)
            payload, problem = envelope_problem(item)
            if problem:
                record_bad_item(item, problem)
                return True
            self.connection._deliver(payload, dest)
            return True
        finally:
            self._in_poll = None  # type: ignore[assignment]  # as kombu's own _brpop_read does
            flush = getattr(self, "_flush_brpop_reauth", None)
            if flush:
                flush()

    def _get(self, queue: str, timeout: Any = None) -> Any:
        with self.conn_or_acquire() as client:
            for pri in self.priority_steps:
                item = client.rpop(self._q_for_pri(queue, pri))
                if item:
                    self._maybe_update_queues_expire(client, queue)
                    payload, problem = envelope_problem(item)
                    if problem:
                        record_bad_item(item, problem)
                        continue
                    return payload
            self._maybe_update_queues_expire(client, queue)
            raise kombu_redis.Empty()


class Transport(kombu_redis.Transport):
    Channel = Channel


def register() -> None:
    """Serve ``redis://``, ``rediss://`` and ``redis+socket://`` broker URLs with this transport."""
    from kombu.transport import TRANSPORT_ALIASES

    for name in ("redis", "rediss"):
        TRANSPORT_ALIASES[name] = "engine.pipeline.transport:Transport"
