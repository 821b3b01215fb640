"""Settings from the environment: a secret comes from `NAME` or from the file
named by `NAME_FILE` (django-environ's FileAwareEnv), the file winning and
its trailing newline dropped; a missing file fails instead of falling back;
variables that are not secrets are never read from a file."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from devtools.processes import ROOT

SHOW = (
    "import json, reachly.settings as s; print(json.dumps({'secret': s.SECRET_KEY, 'metrics': s.REACHLY_METRICS_TOKEN,"
    " 'base_url': s.REACHLY_BASE_URL}))"
)


def settings_with(**env: str) -> subprocess.CompletedProcess[str]:
    """Import reachly.settings in a fresh interpreter with `env` over a clean
    environment (no inherited secrets), and return the finished process."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SECRET_KEY", "REACHLY_", "DJANGO_"))}
    return subprocess.run(
        [sys.executable, "-c", SHOW], cwd=ROOT, env={**base, **env}, capture_output=True, text=True, timeout=60
    )


def values(**env: str) -> dict[str, str]:
    done = settings_with(**env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_secret_comes_from_its_variable():
    assert values(REACHLY_ENV="dev", SECRET_KEY="from-the-env")["secret"] == "from-the-env"


def test_a_secret_file_wins_over_the_variable_and_loses_its_newline(tmp_path):
    key, token = tmp_path / "secret_key", tmp_path / "metrics_token"
    key.write_text("from-the-file\n")
    token.write_text("scrape-token\n")
    got = values(
        REACHLY_ENV="dev",
        SECRET_KEY="from-the-env",
        SECRET_KEY_FILE=str(key),
        REACHLY_METRICS_TOKEN_FILE=str(token),
    )
    assert (got["secret"], got["metrics"]) == ("from-the-file", "scrape-token")


def test_a_secret_file_that_is_missing_fails_instead_of_falling_back(tmp_path):
    done = settings_with(REACHLY_ENV="dev", SECRET_KEY_FILE=str(tmp_path / "not-mounted"))
    assert done.returncode != 0
    assert "FileNotFoundError" in done.stderr


def test_production_without_a_secret_refuses_to_start():
    done = settings_with(REACHLY_ENV="prod", DJANGO_ALLOWED_HOSTS="x")
    assert done.returncode != 0 and "SECRET_KEY (or SECRET_KEY_FILE) must be set" in done.stderr


def test_a_variable_that_is_not_a_secret_is_never_read_from_a_file(tmp_path):
    path = tmp_path / "url"
    path.write_text("http://from-a-file.example\n")
    assert values(REACHLY_BASE_URL="http://env.example", REACHLY_BASE_URL_FILE=str(path))["base_url"] == (
        "http://env.example"
    )


NAME = "import reachly.settings as s; print(s.DATABASES['default']['OPTIONS']['application_name'])"


def _application_name(**env: str) -> str:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("REACHLY_", "DB_APPLICATION_NAME"))}
    done = subprocess.run(
        [sys.executable, "-c", NAME], cwd=ROOT, env={**base, **env}, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_connections_are_named_by_process_kind_unless_named_explicitly():
    assert _application_name() == "reachly"
    assert _application_name(REACHLY_PROCESS="web") == "reachly-web"
    assert _application_name(REACHLY_PROCESS="web", DB_APPLICATION_NAME="mine") == "mine"


def _unnamed(monkeypatch) -> dict:
    """The real OPTIONS, as an unnamed process has them (restored after the test)."""
    from django.conf import settings

    options = settings.DATABASES["default"]["OPTIONS"]
    monkeypatch.setitem(options, "application_name", "reachly")
    return options


def test_a_worker_names_its_connections_by_node_name_and_beat_never_renames_a_worker(monkeypatch):
    from reachly.celery import name_connections

    monkeypatch.delenv("DB_APPLICATION_NAME", raising=False)
    options = _unnamed(monkeypatch)
    assert name_connections("worker-control")
    assert options["application_name"] == "reachly-worker-control"
    assert not name_connections("beat")  # beat embedded in that worker (-B)
    assert options["application_name"] == "reachly-worker-control"


def test_an_explicit_name_is_kept_by_workers(monkeypatch):
    from reachly.celery import name_connections

    monkeypatch.setenv("DB_APPLICATION_NAME", "reachly")
    options = _unnamed(monkeypatch)
    assert not name_connections("worker-general")
    assert options["application_name"] == "reachly"
