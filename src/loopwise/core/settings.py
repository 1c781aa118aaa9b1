"""All of Loopwise's settings, read once at start.

Sources, highest priority first: keyword arguments (tests), environment variables
``LOOPWISE_*``, the TOML file named by ``LOOPWISE_CONFIG`` (else ``./loopwise.toml`` when it
exists), then defaults. Every field is documented in ``docs/configuration.md``; a test checks
that the two agree.
"""

from __future__ import annotations

import os
import secrets
import tomllib
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from loopwise.core.errors import ConfigError

DOCS = "docs/configuration.md"
DATABASE_SCHEMES = ("sqlite", "postgresql+psycopg", "postgresql")
WAREHOUSE_SCHEMES = ("duckdb", "clickhouse", "clickhouses", "chdb")
SECRET_KEY_FILE = "secret_key"
MIN_SECRET_KEY = 32


class Settings(BaseSettings):
    """Loopwise settings. Field descriptions are the short form of the docs."""

    model_config = SettingsConfigDict(env_prefix="LOOPWISE_", extra="forbid", frozen=True)

    data_dir: Path = Field(
        default=Path("loopwise-data"),
        description="Directory for the embedded databases, the secret key and other state.",
    )
    database_url: str | None = Field(
        default=None,
        description="App database URL; default: SQLite file loopwise.db in the data directory.",
    )
    warehouse_url: str | None = Field(
        default=None,
        description="Analytics store URL; default: DuckDB file events.duckdb in the data dir.",
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="Key that signs cookies; generated into the data directory when unset.",
    )
    host: str = Field(default="127.0.0.1", description="Interface the web server binds to.")
    port: int = Field(default=8000, ge=1, le=65535, description="TCP port of the web server.")
    public_url: str | None = Field(
        default=None,
        description="URL users and SDKs reach this instance at; default http://host:port.",
    )
    trusted_proxies: str = Field(
        default="",
        description="Comma-separated addresses of reverse proxies whose X-Forwarded-For is "
        "believed; empty means none.",
    )
    secure_cookies: bool = Field(
        default=False, description="Mark cookies Secure; turn on when served over HTTPS."
    )
    session_hours: int = Field(
        default=336, ge=1, description="How long a sign-in lasts without activity, in hours."
    )
    login_max_failures: int = Field(
        default=5, ge=1, description="Failed sign-ins per account or address before a lockout."
    )
    login_lockout_minutes: int = Field(
        default=15, ge=1, description="Window counted for failures, and length of the lockout."
    )
    query_timeout_seconds: float = Field(
        default=30.0, gt=0, description="Longest time an analytics query may run."
    )
    query_max_rows: int = Field(
        default=100_000, ge=1, description="Most rows an analytics query may return."
    )
    ingest_mode: Literal["auto", "wal", "direct"] = Field(
        default="auto",
        description="How captured events are made durable before acknowledgement.",
    )
    ingest_dedupe_hours: int = Field(
        default=24, ge=1, le=24 * 14, description="How long event ids are remembered."
    )
    ingest_workers: int | None = Field(
        default=None, ge=0, le=64, description="Parser processes for large capture requests."
    )
    ingest_backlog_mb: int = Field(
        default=1024, ge=16, description="Most un-flushed log data before 503 answers."
    )
    smtp_url: SecretStr | None = Field(
        default=None,
        description="SMTP server for e-mail: smtp://user:password@host:port or smtps://…",
    )
    smtp_from: str = Field(
        default="loopwise@localhost", description="The From address of e-mail Loopwise sends."
    )
    scheduler: Literal["embedded", "off"] = Field(
        default="embedded",
        description="embedded: the server runs due jobs each minute; off: cron runs them.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Least severe log level written."
    )
    log_format: Literal["auto", "json", "text"] = Field(
        default="auto", description="Log format; auto means text on a terminal, JSON otherwise."
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        named = os.environ.get("LOOPWISE_CONFIG")
        toml_path = Path(named or "loopwise.toml")
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if named and not toml_path.is_file():
            raise ConfigError(f"LOOPWISE_CONFIG: {named} is not a readable file (see {DOCS})")
        if toml_path.is_file():
            try:
                tomllib.loads(toml_path.read_text())
            except (tomllib.TOMLDecodeError, OSError) as exc:
                raise ConfigError(
                    f"LOOPWISE_CONFIG: {toml_path} is not valid TOML: {exc}"
                ) from None
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_path))
        return tuple(sources)

    @field_validator("secret_key")
    @classmethod
    def _check_secret_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < MIN_SECRET_KEY:
            raise ValueError(
                f"must be at least {MIN_SECRET_KEY} characters; leave it unset to have one "
                "generated in the data directory"
            )
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        scheme = urlsplit(value).scheme
        if scheme not in DATABASE_SCHEMES:
            raise ValueError(
                f"scheme {scheme or '(none)'!r} is not supported; use sqlite:///PATH "
                "or postgresql+psycopg://USER@HOST:PORT/DB"
            )
        if scheme == "postgresql":
            return "postgresql+psycopg" + value[len("postgresql") :]
        return value

    @field_validator("warehouse_url")
    @classmethod
    def _check_warehouse_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        scheme = urlsplit(value).scheme
        if scheme not in WAREHOUSE_SCHEMES:
            raise ValueError(
                f"scheme {scheme or '(none)'!r} is not supported; use duckdb:///PATH, "
                "clickhouse://USER:PASSWORD@HOST:8123/DB (clickhouses:// for TLS) "
                "or chdb:///PATH"
            )
        return value

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir.resolve() / 'loopwise.db'}"

    @property
    def effective_warehouse_url(self) -> str:
        return self.warehouse_url or f"duckdb:///{self.data_dir.resolve() / 'events.duckdb'}"

    @property
    def effective_public_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host  # noqa: S104
        return f"http://{host}:{self.port}"

    def secret(self) -> str:
        """The cookie-signing key; ``prepare_data_dir`` must have run when none is set."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        return (self.data_dir / SECRET_KEY_FILE).read_text().strip()


def load_settings(**overrides: Any) -> Settings:
    """Read settings, turning validation errors into one ``ConfigError`` line."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else "settings"
        message = str(error["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"LOOPWISE_{field.upper()}: {message} (see {DOCS})") from None


def prepare_data_dir(settings: Settings) -> None:
    """Create the data directory, check it is writable, and create the secret key file."""
    directory = settings.data_dir
    try:
        directory.mkdir(parents=True, exist_ok=True)
        probe = directory / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(
            f"LOOPWISE_DATA_DIR: {directory} is not a writable directory ({exc.strerror}); "
            f"point it at a directory this user can write (see {DOCS})"
        ) from None
    key_file = directory / SECRET_KEY_FILE
    if settings.secret_key is None and not key_file.exists():
        descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
