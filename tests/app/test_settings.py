"""Settings come from the environment; a bad one names its variable."""

from __future__ import annotations

import pytest

from bot.settings import ENVIRONMENT, Settings, SettingsError
from tests.fakegithub.keys import app_key_pair


@pytest.fixture
def env():
    private, _ = app_key_pair()
    return {"APP_ID": "12", "PRIVATE_KEY": private, "WEBHOOK_SECRET": "s3cret"}


def test_defaults(env):
    settings = Settings.from_env(env)
    assert settings.app_id == 12
    assert settings.github_api_url == "https://api.github.com"
    assert (settings.host, settings.port) == ("0.0.0.0", 3000)
    assert settings.webhook_path == "/api/github/webhooks"
    assert (settings.log_level, settings.log_format) == ("INFO", "text")
    assert (settings.request_delay, settings.write_delay) == (0.25, 1.0)
    assert settings.max_inline_comments == 30


def test_the_private_key_and_secret_never_show_in_repr(env):
    text = repr(Settings.from_env(env))
    assert "PRIVATE KEY" not in text and "s3cret" not in text


def test_everything_can_be_set(env, tmp_path):
    key_file = tmp_path / "key.pem"
    key_file.write_text(env.pop("PRIVATE_KEY"))
    env.update(
        PRIVATE_KEY_PATH=str(key_file),
        GITHUB_API_URL="https://ghe.example.com/api/v3/",
        HOST="127.0.0.1",
        PORT="8080",
        WEBHOOK_PATH="/hooks",
        LOG_LEVEL="debug",
        LOG_FORMAT="JSON",
        PREFLIGHT_REQUEST_DELAY="0",
        PREFLIGHT_WRITE_DELAY="0",
        PREFLIGHT_MAX_INLINE_COMMENTS="5",
    )
    settings = Settings.from_env(env)
    assert settings.github_api_url == "https://ghe.example.com/api/v3"
    assert (settings.host, settings.port, settings.webhook_path) == ("127.0.0.1", 8080, "/hooks")
    assert (settings.log_level, settings.log_format) == ("DEBUG", "json")
    assert settings.request_delay is None and settings.write_delay is None
    assert settings.max_inline_comments == 5
    assert "PRIVATE KEY" in settings.private_key


def test_a_key_with_escaped_newlines_is_accepted(env):
    env["PRIVATE_KEY"] = env["PRIVATE_KEY"].replace("\n", "\\n")
    assert Settings.from_env(env).private_key.count("\n") > 10


@pytest.mark.parametrize(
    ("change", "variable"),
    [
        ({"APP_ID": None}, "APP_ID"),
        ({"APP_ID": "twelve"}, "APP_ID"),
        ({"PRIVATE_KEY": None}, "PRIVATE_KEY"),
        ({"PRIVATE_KEY": "not a key"}, "PRIVATE_KEY"),
        (
            {"PRIVATE_KEY": "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----"},
            "PRIVATE_KEY",
        ),
        ({"PRIVATE_KEY": None, "PRIVATE_KEY_PATH": "/nonexistent/key.pem"}, "PRIVATE_KEY_PATH"),
        ({"WEBHOOK_SECRET": " "}, "WEBHOOK_SECRET"),
        ({"GITHUB_API_URL": "api.github.com"}, "GITHUB_API_URL"),
        ({"PORT": "99999"}, "PORT"),
        ({"WEBHOOK_PATH": "hooks"}, "WEBHOOK_PATH"),
        ({"LOG_LEVEL": "chatty"}, "LOG_LEVEL"),
        ({"LOG_FORMAT": "xml"}, "LOG_FORMAT"),
        ({"PREFLIGHT_REQUEST_DELAY": "-1"}, "PREFLIGHT_REQUEST_DELAY"),
        ({"PREFLIGHT_MAX_INLINE_COMMENTS": "many"}, "PREFLIGHT_MAX_INLINE_COMMENTS"),
    ],
)
def test_bad_settings_name_their_variable(env, change, variable):
    for key, value in change.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    with pytest.raises(SettingsError) as error:
        Settings.from_env(env)
    assert variable in str(error.value)
    assert "PRIVATE KEY-----\nMII" not in str(error.value)


def test_every_variable_read_is_documented(env):
    class Recording(dict):
        seen: set[str] = set()

        def get(self, key, default=None):
            self.seen.add(key)
            return super().get(key, default)

    recording = Recording(env)
    Settings.from_env(recording)
    documented = {name for name, _, _ in ENVIRONMENT}
    assert recording.seen | {"PRIVATE_KEY_PATH"} == documented
