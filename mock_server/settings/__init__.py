"""Settings: one frozen `Settings` whose fields are the one table of every setting (`fields`),
merged from flags, the environment and a TOML file (`sources`), and shown as the CLI's flags
and the README's table (`table`)."""

from mock_server.settings.fields import DEFAULT_API_KEY, Settings, SettingsError
from mock_server.settings.sources import ENV_PREFIX, load_settings

__all__ = ["DEFAULT_API_KEY", "ENV_PREFIX", "Settings", "SettingsError", "load_settings"]
