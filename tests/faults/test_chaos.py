"""Chaos suite: real processes killed mid-batch (issue 9).

Each case breaks one real component while a batch is in flight and then asserts what the service
promises: every accepted event is decided exactly once, no alert is duplicated, and the worker is
alive (and still deciding) afterwards. Nothing is mocked; waits are conditions with deadlines.

- a pool process of the worker SIGKILLed: the worker's main process replaces it, carries on;
- the whole worker (main + pool) SIGKILLed: a restarted worker decides everything once;
- the broker (redis-server) SIGKILLed and restarted, TCP and unix socket: the SAME worker
  reconnects and carries on (it used to die with AttributeError on the ack path);
- PostgreSQL made unreachable mid-batch (a database of the test's own behind a TCP proxy that is
  cut): ingest answers 503 JSON with Retry-After, and everything accepted is decided after.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
from chaos_support import (
    OwnDatabase,
    RedisServer,
    TcpProxy,
    free_port,
    pg_reachable,
    process_env,
    wait_until,
)
from pipeline_support import clear_event, mixed_events
from sqlalchemy import create_engine, func, select

from engine.pipeline.ingest import ingest_batch
from engine.pipeline.worker import kill_worker, start_worker, stop_worker
from engine.storage.db import get_engine
from engine.storage.tables import AlertRow, DecisionRow, EventRow

pytestmark = pytest.mark.integration

N = 2000  # 20 tasks of 100: long enough to hit mid-batch on an idle box, short under load
FLAG_EVERY = 7


def _worker_env(broker: str, **extra: str) -> dict[str, str]:
    return process_env(
        REDIS_URL=broker,
        PYTHONUNBUFFERED="1",
        SANCTIONS_VISIBILITY_TIMEOUT="5",
        # The sweeper is the backstop for messages a killed broker lost from its last second of
        # AOF: short period and grace here, so the test ends in seconds rather than minutes.
        SANCTIONS_SWEEP_INTERVAL="2",
        SANCTIONS_SWEEP_GRACE="10",
        **extra,
    )


def _start(broker: str, log: Path, name: str, **extra: str):
    return start_worker(
        env=_worker_env(broker, **extra),
        concurrency=2,
        loglevel="INFO",
        hostname=f"{name}@%h",
        log_path=log,
    )


def _tail(path: Path) -> str:
    return path.read_text(errors="replace")[-5000:] if path.exists() else "(no log)"


def _assert_exactly_once(conn_engine, prefix: str, n: int) -> None:
    with conn_engine.connect() as conn:
        per_event = dict(
            conn.execute(
                select(DecisionRow.event_id, func.count())
                .where(DecisionRow.event_id.like(f"{prefix}-%"))
                .group_by(DecisionRow.event_id)
            ).all()
        )
        pairs = conn.execute(
            select(AlertRow.event_id, AlertRow.rule_id).where(AlertRow.event_id.like(f"{prefix}-%"))
        ).all()
        undecided = conn.scalar(
            select(func.count())
            .select_from(EventRow)
            .where(EventRow.status == "received", EventRow.event_id.like(f"{prefix}-%"))
        )
    assert len(per_event) == n, f"{len(per_event)} of {n} decided"
    assert set(per_event.values()) == {1}, "an event was decided twice"
    assert len(pairs) == len(set(pairs)), "duplicate alert"
    assert {p[0] for p in pairs} == {f"{prefix}-{i}" for i in range(0, n, FLAG_EVERY)}
    assert undecided == 0


def _decided(conn_engine, prefix: str) -> int:
    with conn_engine.connect() as conn:
        return conn.scalar(
            select(func.count())
            .select_from(DecisionRow)
            .where(DecisionRow.event_id.like(f"{prefix}-%"))
        )


def _still_works(conn_engine, broker: str, prefix: str, log: Path) -> None:
    """The worker decides new work after the fault."""
    from engine.pipeline.publish import enqueue_event_ids

    ingest_batch(
        [clear_event(f"{prefix}-after")],
        channel="cli",
        publish=lambda ids: enqueue_event_ids(ids, broker=broker),
    )
    assert wait_until(
        lambda: _decided_one(conn_engine, f"{prefix}-after"), timeout=180, interval=0.2
    ), _tail(log)


def _decided_one(conn_engine, event_id: str) -> bool:
    with conn_engine.connect() as conn:
        return bool(
            conn.scalar(
                select(func.count())
                .select_from(DecisionRow)
                .where(DecisionRow.event_id == event_id)
            )
        )


def _store_and_queue(prefix: str, broker: str) -> None:
    from engine.pipeline.publish import enqueue_event_ids

    ingest_batch(mixed_events(prefix, N, flag_every=FLAG_EVERY), channel="cli")
    assert enqueue_event_ids([f"{prefix}-{i}" for i in range(N)], broker=broker)


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def survivor(migrated_db: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple]:
    """ONE worker on a TCP broker of its own, shared by the cases it must survive."""
    directory = tmp_path_factory.mktemp("survivor")
    server = RedisServer(directory / "redis")
    server.start()
    log = directory / "worker.log"
    worker = _start(server.url, log, "survivor")
    yield server, worker, log
    stop_worker(worker, timeout=15)
    server.stop()


def test_pool_process_killed_mid_batch_worker_carries_on(db: None, survivor: tuple) -> None:
    server, worker, log = survivor
    _store_and_queue("pk", server.url)
    engine = get_engine()
    assert wait_until(lambda: _decided(engine, "pk") > 0, timeout=240, interval=0.02), _tail(log)
    children = psutil.Process(worker.pid).children()
    assert children, "no pool processes"
    children[0].send_signal(signal.SIGKILL)  # one pool process, mid-task
    assert _decided(engine, "pk") < N, "batch finished before the kill; proves nothing"
    assert wait_until(lambda: _decided(engine, "pk") == N, timeout=300), _tail(log)
    _assert_exactly_once(engine, "pk", N)
    assert worker.poll() is None, _tail(log)  # the same main process
    _still_works(engine, server.url, "pk", log)


def test_worker_killed_mid_batch_a_restarted_worker_decides_all_once(
    db: None, own_broker: RedisServer, tmp_path: Path
) -> None:
    log = tmp_path / "worker.log"
    victim = _start(own_broker.url, log, "victim")
    rescuer = None
    try:
        _store_and_queue("wk", own_broker.url)
        engine = get_engine()
        assert wait_until(lambda: _decided(engine, "wk") > 0, timeout=240, interval=0.02), _tail(
            log
        )
        kill_worker(victim)  # SIGKILL of main and pool: nothing acked, nothing restored
        assert _decided(engine, "wk") < N, "batch finished before the kill; proves nothing"
        rescuer = _start(own_broker.url, tmp_path / "rescuer.log", "rescuer")
        assert wait_until(lambda: _decided(engine, "wk") == N, timeout=300), _tail(
            tmp_path / "rescuer.log"
        )
        _assert_exactly_once(engine, "wk", N)
        assert rescuer.poll() is None
        _still_works(engine, own_broker.url, "wk", tmp_path / "rescuer.log")
    finally:
        stop_worker(victim, timeout=5)
        if rescuer is not None:
            stop_worker(rescuer, timeout=15)


def _broker_killed_and_restarted(server: RedisServer, worker, log: Path, prefix: str) -> None:
    from conftest import make_api_client

    _store_and_queue(prefix, server.url)
    engine = get_engine()
    assert wait_until(lambda: _decided(engine, prefix) > 0, timeout=240, interval=0.02), _tail(log)
    server.kill()  # SIGKILL: no shutdown, the last second of the AOF may be lost
    assert _decided(engine, prefix) < N, "batch finished before the kill; proves nothing"
    # Events pushed while the broker is down are stored and answered (queued: false).
    api = make_api_client({"SANCTIONS_BROKER_URL": server.url})
    down = [clear_event(f"{prefix}-down-{i}") for i in range(20)]
    r = api.post("/api/v1/events", json=down)
    assert r.status_code == 202, r.get_data(as_text=True)
    assert {x["status"] for x in r.json["results"]} == {"accepted"}
    assert {x["queued"] for x in r.json["results"]} == {False}
    time.sleep(1)  # the broker stays down across the worker's reconnect attempts
    server.start()
    assert wait_until(lambda: _decided(engine, prefix) == N + 20, timeout=300), _tail(log)
    _assert_exactly_once_with(engine, prefix)
    assert worker.poll() is None, _tail(log)
    assert "Unrecoverable error" not in log.read_text(errors="replace"), _tail(log)
    _still_works(engine, server.url, prefix, log)


def test_tcp_broker_killed_mid_batch_and_restarted_the_same_worker_carries_on(
    db: None, survivor: tuple
) -> None:
    server, worker, log = survivor
    _broker_killed_and_restarted(server, worker, log, "bktcp")


def test_unix_socket_broker_killed_mid_batch_and_restarted_the_same_worker_carries_on(
    db: None, tmp_path: Path
) -> None:
    """The embedded broker's way (redis+socket://), as `sanctions run` starts it."""
    server = RedisServer(tmp_path / "redis", unix=True)
    server.start()
    log = tmp_path / "worker.log"
    worker = _start(server.url, log, "unix")
    try:
        _broker_killed_and_restarted(server, worker, log, "bkunix")
    finally:
        stop_worker(worker, timeout=15)
        server.stop()


def _assert_exactly_once_with(engine, prefix: str) -> None:
    """N mixed events plus 20 clear ones posted during the outage, each decided once."""
    with engine.connect() as conn:
        per_event = dict(
            conn.execute(
                select(DecisionRow.event_id, func.count())
                .where(DecisionRow.event_id.like(f"{prefix}-%"))
                .group_by(DecisionRow.event_id)
            ).all()
        )
        pairs = conn.execute(
            select(AlertRow.event_id, AlertRow.rule_id).where(AlertRow.event_id.like(f"{prefix}-%"))
        ).all()
    expected = {f"{prefix}-{i}" for i in range(N)} | {f"{prefix}-down-{i}" for i in range(20)}
    assert set(per_event) == expected
    assert set(per_event.values()) == {1}
    assert len(pairs) == len(set(pairs))
    assert {p[0] for p in pairs} == {f"{prefix}-{i}" for i in range(0, N, FLAG_EVERY)}


# -- database outage (PostgreSQL, a database of the test's own) ----------------------------------


def _pg_pass() -> bool:
    return os.environ.get("DATABASE_URL", "").startswith("postgres")


@pytest.mark.skipif(not _pg_pass(), reason="PostgreSQL pass only (make test-external)")
def test_database_outage_mid_batch_503_then_everything_decided_once(
    own_broker: RedisServer, tmp_path: Path
) -> None:
    if not pg_reachable():
        pytest.fail("PostgreSQL at 127.0.0.1:5432 does not answer")
    database = OwnDatabase()
    database.create()
    proxy = TcpProxy(("127.0.0.1", 5432))
    proxy.start()
    direct = create_engine(
        database.url().replace("postgresql://", "postgresql+psycopg://"), pool_pre_ping=True
    )
    env = process_env(
        DATABASE_URL=database.url(proxy.port),
        REDIS_URL=own_broker.url,
        SANCTIONS_DATA_DIR=str(tmp_path / "data"),
        SANCTIONS_COOKIE_SECURE="0",
    )
    env.pop("SANCTIONS_DB_SCHEMA", None)
    bin_dir = Path(sys.executable).parent
    web = worker = None
    log = tmp_path / "worker.log"
    try:
        import subprocess

        subprocess.run([str(bin_dir / "sanctions"), "migrate"], env=env, check=True, timeout=180)
        key = subprocess.run(
            [str(bin_dir / "sanctions"), "apikeys", "create", "chaos", "--scope", "events:write"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        ).stdout
        token = key.strip().splitlines()[-1]  # printed once, on stdout
        port = free_port()
        web = subprocess.Popen(
            [
                str(bin_dir / "gunicorn"),
                "--workers",
                "1",
                "--threads",
                "4",
                "--bind",
                f"127.0.0.1:{port}",
                "web:create_app()",
            ],
            env=env,
            stdout=open(tmp_path / "web.log", "ab"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        worker_env = {**_worker_env(own_broker.url), **env}
        worker_env.pop("SANCTIONS_DB_SCHEMA", None)  # its own database, default schema
        worker = start_worker(
            env=worker_env,
            concurrency=2,
            loglevel="INFO",
            hostname="dbout@%h",
            log_path=log,
        )
        url = f"http://127.0.0.1:{port}"
        assert wait_until(lambda: _http_ok(f"{url}/healthz"), timeout=120), _tail(
            tmp_path / "web.log"
        )
        headers = {"Authorization": f"Bearer {token}"}
        http = httpx.Client(base_url=url, headers=headers, timeout=30)
        events = mixed_events("db", N, flag_every=FLAG_EVERY)
        accepted: set[str] = set()
        refused: list[dict] = []

        def post(batch: list[dict]) -> None:
            r = http.post("/api/v1/events", json=batch)
            if r.status_code == 202:
                accepted.update(
                    x["event_id"]
                    for x in r.json()["results"]
                    if x["status"] in ("accepted", "duplicate")
                )
                return
            assert r.status_code == 503, (r.status_code, r.text[:500])
            assert r.headers["content-type"].startswith("application/json"), r.text[:200]
            assert int(r.headers["Retry-After"]) > 0
            assert "error" in r.json()
            refused.extend(batch)

        for start in range(0, N // 2, 100):
            post(events[start : start + 100])
        assert wait_until(lambda: _decided(direct, "db") > 0, timeout=240, interval=0.02), _tail(
            log
        )
        proxy.cut()  # mid-batch: the worker's and the web's connections reset, new ones refused
        for start in range(N // 2, N, 100):
            post(events[start : start + 100])
        assert refused, "no request hit the outage"
        r = http.get("/readyz")
        assert r.status_code == 503 and r.json()["checks"]["database"]["ok"] is False
        time.sleep(3)  # the outage lasts across the worker's retries
        proxy.restore()
        for start in range(0, len(refused), 100):  # the client retries after Retry-After
            post(refused[start : start + 100])
        assert len(accepted) == N
        assert wait_until(lambda: _decided(direct, "db") == N, timeout=300), _tail(log)
        _assert_exactly_once(direct, "db", N)
        assert worker.poll() is None, _tail(log)
        assert "Unrecoverable error" not in log.read_text(errors="replace")
        http.post("/api/v1/events", json=clear_event("db-after"))
        assert wait_until(lambda: _decided_one(direct, "db-after"), timeout=180), _tail(log)
    finally:
        if worker is not None:
            stop_worker(worker, timeout=15)
        if web is not None:
            stop_worker(web, timeout=15)  # SIGTERM then SIGKILL of its process group
        direct.dispose()
        proxy.cut()
        database.drop()


def _http_ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_an_ack_after_the_broker_dropped_is_a_connection_error_not_a_crash(
    own_broker: RedisServer,
) -> None:
    """The crash of issue 9, step by step: a task finishes after Celery closed the connection to
    a dead broker; its ack reached kombu's _connparams on a detached connection and raised
    AttributeError ('NoneType' object has no attribute 'hostname'), which stopped the worker.
    It must be a connection error, which Celery logs ("Couldn't ack") and survives."""
    from kombu import Connection, Queue

    from engine.pipeline import transport

    transport.register()
    conn = Connection(own_broker.url, transport_options={"visibility_timeout": 5})
    queue = Queue("chaos-ack-probe")
    with conn.Producer() as producer:
        producer.publish({"probe": 1}, routing_key=queue.name, declare=[queue])
    channel = conn.default_channel
    message = channel.basic_get(queue.name)
    assert message is not None
    own_broker.kill()
    try:
        conn.close()  # what the consumer does when the broker is gone
    except Exception:
        pass
    channel._disconnect_pools()  # its pool is dropped, as on a second close or after a fork
    with pytest.raises(conn.connection_errors):
        message.ack()
