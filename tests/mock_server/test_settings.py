"""Settings: defaults, precedence (flags > env > file), clear errors for bad values."""

from __future__ import annotations

from pathlib import Path

import pytest

from mock_server.settings import DEFAULT_API_KEY, Settings, SettingsError, load_settings
from mock_server.sim.clock import VirtualClock


def test_defaults_serve_a_newcomer() -> None:
    settings = load_settings(env={})
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)
    assert settings.api_keys == (DEFAULT_API_KEY,)
    assert settings.status_policy == "upstream"


def test_flags_beat_env_beat_file(tmp_path: Path) -> None:
    config = tmp_path / "mock.toml"
    config.write_text('port = 9000\nseed = 3\nspeed = 2.5\napi_keys = ["a", "b"]\n'
                      '[prices]\n"720p/5" = 1\n')
    env = {"APIKLEY_MOCK_SEED": "4", "APIKLEY_MOCK_STATUS_POLICY": "mirror", "OTHER": "x"}
    settings = load_settings({"seed": 5, "port": None}, env=env, config_file=config)
    assert settings.port == 9000 and settings.seed == 5 and settings.speed == 2.5
    assert settings.status_policy == "mirror" and settings.api_keys == ("a", "b")
    assert settings.prices == {"720p/5": 1.0}


def test_env_lists_are_comma_separated() -> None:
    settings = load_settings(env={"APIKLEY_MOCK_API_KEYS": "one, two"})
    assert settings.api_keys == ("one", "two")


@pytest.mark.parametrize(("env", "message"), [
    ({"APIKLEY_MOCK_PORT": "eighty"}, "port: cannot use 'eighty'"),
    ({"APIKLEY_MOCK_PORT": "70000"}, "port: 70000 is not between"),
    ({"APIKLEY_MOCK_SPEED": "-1"}, "speed: -1 must be from 0 (frozen)"),
    ({"APIKLEY_MOCK_STATUS_POLICY": "loose"}, "status_policy: 'loose' is not one of"),
    ({"APIKLEY_MOCK_COLOUR": "red"}, "unknown setting(s) ['colour']"),
    ({"APIKLEY_MOCK_API_KEYS": "a b"}, "api_keys"),
])
def test_bad_values_are_refused_with_the_setting_named(env: dict, message: str) -> None:
    with pytest.raises(SettingsError, match=None) as caught:
        load_settings(env=env)
    assert message in str(caught.value)


def test_values_are_coerced_by_each_field_type_hint(tmp_path: Path) -> None:
    env = {"APIKLEY_MOCK_LEASE_SECONDS": "2.5", "APIKLEY_MOCK_DB_DURABLE": "off", "APIKLEY_MOCK_EPOCH_MS": "",
           "APIKLEY_MOCK_JOURNAL_SIZE": "7", "APIKLEY_MOCK_CALLBACK_ALLOW_HOSTS": "a.test,, b.test"}
    settings = load_settings(env=env)
    assert (settings.lease_seconds, settings.db_durable, settings.epoch_ms) == (2.5, False, None)
    assert settings.journal_size == 7 and settings.callback_allow_hosts == ("a.test", "b.test")
    config = tmp_path / "typed.toml"
    config.write_text("workers = true\n")  # TOML's boolean is not a number of workers
    with pytest.raises(SettingsError, match="workers: cannot use True"):
        load_settings(env={}, config_file=config)


def test_every_serve_flag_is_a_settings_field() -> None:
    import dataclasses

    from mock_server.cli import parser

    serve = parser()._subparsers._group_actions[0].choices["serve"]  # type: ignore[union-attr,index]
    fields = {item.name for item in dataclasses.fields(Settings)}
    dests = {action.dest for action in serve._actions if action.dest not in ("help", "config", "log_level")}
    assert dests <= fields and {"host", "port", "api_keys", "model_specs", "workers"} <= dests


def test_bad_config_file_is_named(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("port = \n")
    with pytest.raises(SettingsError, match=r"bad\.toml"):
        load_settings(env={}, config_file=config)


def test_price_table_covers_every_resolution_and_duration_in_the_spec() -> None:
    from contracts.spec.document import operation

    fields = operation("bytedance-v1-pro-fast-image-to-video").definition["requestBody"][
        "content"]["application/json"]["schema"]["properties"]["input"]["properties"]
    combos = {f"{r}/{d}" for r in fields["resolution"]["enum"] for d in fields["duration"]["enum"]}
    assert set(Settings().prices) == combos


def test_virtual_clock_runs_at_speed_advances_and_never_goes_back() -> None:
    wall = [100.0]
    clock = VirtualClock(start_ms=1_000_000, speed=10, monotonic=lambda: wall[0])
    wall[0] += 2
    assert clock.now_ms() == 1_020_000
    assert clock.advance(5) == 1_025_000
    clock.set_speed(0)
    wall[0] += 100
    assert clock.now_ms() == 1_025_000
    with pytest.raises(ValueError):
        clock.advance(-1)
