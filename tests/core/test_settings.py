"""Settings: defaults, validation messages that name the setting, and docs that list them all."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest

from loopwise.core.errors import ConfigError
from loopwise.core.settings import Settings, load_settings, prepare_data_dir

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_put_both_stores_in_the_data_dir(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    assert settings.effective_database_url == f"sqlite:///{tmp_path / 'loopwise.db'}"
    assert settings.effective_warehouse_url == f"duckdb:///{tmp_path / 'events.duckdb'}"
    assert settings.effective_public_url == "http://127.0.0.1:8000"


def test_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LOOPWISE_PORT", "9123")
    monkeypatch.setenv("LOOPWISE_DATA_DIR", str(tmp_path))
    settings = load_settings()
    assert settings.port == 9123
    assert settings.data_dir == tmp_path


def test_toml_file_is_read_and_env_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "loopwise.toml"
    config.write_text('port = 7001\nhost = "0.0.0.0"\n')
    monkeypatch.setenv("LOOPWISE_CONFIG", str(config))
    monkeypatch.setenv("LOOPWISE_HOST", "127.0.0.2")
    settings = load_settings()
    assert settings.port == 7001
    assert settings.host == "127.0.0.2"


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("database_url", "mysql://root@localhost/x", r"LOOPWISE_DATABASE_URL: scheme 'mysql'"),
        ("warehouse_url", "bigquery://x", r"LOOPWISE_WAREHOUSE_URL: scheme 'bigquery'.*duckdb"),
        ("port", 70000, r"LOOPWISE_PORT: .*65535"),
        ("log_format", "xml", r"LOOPWISE_LOG_FORMAT: .*'json'"),
    ],
)
def test_bad_values_name_the_setting_and_what_is_accepted(
    field: str, value: object, expected: str
) -> None:
    with pytest.raises(ConfigError, match=expected) as raised:
        load_settings(**{field: value})
    assert "\n" not in str(raised.value)


def test_postgresql_url_without_driver_uses_psycopg() -> None:
    settings = load_settings(database_url="postgresql://postgres@127.0.0.1/db")
    assert settings.database_url == "postgresql+psycopg://postgres@127.0.0.1/db"


def test_secret_key_is_generated_once_and_private(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "data")
    prepare_data_dir(settings)
    first = settings.secret()
    prepare_data_dir(settings)
    assert settings.secret() == first
    assert len(first) >= 48
    mode = stat.S_IMODE((tmp_path / "data" / "secret_key").stat().st_mode)
    assert mode == 0o600


def test_unwritable_data_dir_is_a_config_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(ConfigError, match=r"LOOPWISE_DATA_DIR: .* is not a writable directory"):
        prepare_data_dir(load_settings(data_dir=blocker / "data"))


def test_every_setting_is_documented() -> None:
    docs = (ROOT / "docs" / "configuration.md").read_text()
    documented = set(re.findall(r"`LOOPWISE_([A-Z_]+)`", docs))
    fields = {name.upper() for name in Settings.model_fields}
    assert fields - documented == set(), "settings missing from docs/configuration.md"
    assert documented - fields - {"CONFIG"} == set(), "docs list settings that do not exist"


def test_named_config_file_must_exist(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LOOPWISE_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigError, match=r"LOOPWISE_CONFIG: .*missing.toml is not a readable"):
        load_settings()


def test_malformed_config_file_is_one_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "loopwise.toml"
    config.write_text("port = = 1\n")
    monkeypatch.setenv("LOOPWISE_CONFIG", str(config))
    with pytest.raises(ConfigError, match=r"LOOPWISE_CONFIG: .* is not valid TOML"):
        load_settings()


def test_log_level_accepts_any_case() -> None:
    assert load_settings(log_level="debug").log_level == "DEBUG"
