"""docker-compose.yml is checked against the settings the code reads (Docker does not run here)."""

from __future__ import annotations

import importlib
import importlib.util
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from engine.config import Settings
from engine.pipeline.broker import BROKER_CONFIG

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _aliases() -> set[str]:
    return {f.alias for f in Settings.model_fields.values() if f.alias}


def test_services_present_with_health_checks(compose: dict) -> None:
    services = compose["services"]
    assert {"redis", "postgres", "web", "worker"} <= set(services)
    for name in ("redis", "postgres", "web", "worker"):
        assert "healthcheck" in services[name], f"{name} has no healthcheck"
        assert services[name]["healthcheck"]["test"], name


def test_app_environment_matches_settings(compose: dict) -> None:
    known = _aliases()
    for name in ("web", "worker", "migrate"):
        env = compose["services"][name]["environment"]
        unknown = set(env) - known
        assert not unknown, f"{name} sets variables the code never reads: {unknown}"
        assert {"DATABASE_URL", "REDIS_URL", "SANCTIONS_DATA_DIR", "SANCTIONS_SECRET_KEY"} <= set(
            env
        )


def test_urls_point_at_the_compose_services(compose: dict) -> None:
    env = compose["services"]["web"]["environment"]
    pg = compose["services"]["postgres"]["environment"]
    db = urlsplit(env["DATABASE_URL"])
    assert db.scheme.startswith("postgresql")
    assert db.hostname == "postgres" and db.port == 5432
    assert db.username == pg["POSTGRES_USER"] and db.password == pg["POSTGRES_PASSWORD"]
    assert db.path.lstrip("/") == pg["POSTGRES_DB"]
    redis_url = urlsplit(env["REDIS_URL"])
    assert redis_url.hostname == "redis" and redis_url.port == 6379
    # The settings object must accept exactly these values.
    settings = Settings(**{"DATABASE_URL": env["DATABASE_URL"], "REDIS_URL": env["REDIS_URL"]})
    assert settings.sqlalchemy_url.startswith("postgresql+psycopg://")


def test_redis_runs_with_the_no_loss_settings(compose: dict) -> None:
    command = " ".join(compose["services"]["redis"]["command"])
    for key, value in BROKER_CONFIG.items():
        assert f"--{key} {value}" in command, key


def test_dependencies_wait_for_health(compose: dict) -> None:
    services = compose["services"]
    for name in ("web", "worker"):
        deps = services[name]["depends_on"]
        for dep, cond in deps.items():
            assert dep in services
            if cond["condition"] == "service_healthy":
                assert "healthcheck" in services[dep], (
                    f"{name} waits on {dep} which has no healthcheck"
                )


def test_commands_name_real_code(compose: dict) -> None:
    worker = compose["services"]["worker"]["command"]
    app_module = worker[worker.index("-A") + 1]
    assert importlib.util.find_spec(app_module) is not None, app_module
    web_cmd = " ".join(compose["services"]["web"]["command"])
    module, factory = re.search(r"(\w+):(\w+)\(\)", web_cmd).groups()
    assert hasattr(importlib.import_module(module), factory)
    assert compose["services"]["migrate"]["command"][:2] == ["sanctions", "migrate"]


def test_dockerfile_copies_what_exists_and_pins_python() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    for line in re.findall(r"^COPY (.+)$", dockerfile, flags=re.M):
        for src in line.split()[:-1]:  # the last is the destination
            assert (ROOT / src).exists(), f"Dockerfile copies missing {src}"
    assert "python:3.11" in dockerfile
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'requires-python = ">=3.11,<3.13"' in pyproject


def test_the_image_builds_the_sequencers_c_module() -> None:
    """setup.py's extension is optional: an image without a compiler or OpenSSL's headers would
    install and run the sequencer in Python, slower, without a word."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    copied = [
        s for line in re.findall(r"^COPY (.+)$", dockerfile, flags=re.M) for s in line.split()
    ]
    assert "setup.py" in copied and "engine" in copied
    assert "engine/audit/_speedups.c" in (ROOT / "setup.py").read_text()
    apt = re.search(r"apt-get install ([^&]+)", dockerfile)
    assert apt is not None
    assert {"build-essential", "libssl-dev"} <= set(apt.group(1).split())


def test_long_running_services_restart_and_the_one_shot_does_not_loop(compose: dict) -> None:
    services = compose["services"]
    for name in ("redis", "postgres", "web", "worker"):
        assert services[name].get("restart") in ("unless-stopped", "always"), name
    # migrate runs once: retried on failure a bounded number of times, never restarted for ever
    assert re.fullmatch(r"on-failure(:\d+)?", services["migrate"].get("restart", "")), services[
        "migrate"
    ]
    # a warm shutdown of the worker needs time to finish the tasks in hand
    grace = services["worker"].get("stop_grace_period", "10s")
    assert int(grace.rstrip("s")) >= 20
