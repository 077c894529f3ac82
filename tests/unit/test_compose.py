"""``compose.yaml`` and ``.dockerignore``, checked without a container engine (none runs
here): the compose file parses and says what the README says, its server runs the image's
own health check, and the build context carries what the Dockerfile copies and nothing
of the checkout's private state."""

import re
import subprocess
from typing import Any

import pytest
import yaml

from tests.support.image import ROOT, docker_ignores, dockerfile_instructions
from tests.support.readme import README

SERVER, DATABASE = "event-store", "postgres"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load((ROOT / "compose.yaml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def readme_compose_section() -> str:
    text = README.read_text()
    start = text.index("## Quick start with Docker Compose")
    return text[start : text.index("\n## ", start + 1)]


def test_each_service_has_a_health_check_and_a_named_volume(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {SERVER, DATABASE}
    for service in services.values():
        assert service["healthcheck"]["test"][0] in ("CMD", "CMD-SHELL")
        for volume in service["volumes"]:
            assert volume.split(":")[0] in compose["volumes"], volume
    assert services[SERVER]["depends_on"] == {DATABASE: {"condition": "service_healthy"}}


def test_the_server_runs_the_images_health_check_on_its_port(compose: dict[str, Any]) -> None:
    server = compose["services"][SERVER]
    (healthcheck,) = [args for name, args in dockerfile_instructions() if name == "HEALTHCHECK"]
    assert server["healthcheck"]["test"] == ["CMD", *yaml.safe_load(healthcheck.split(" CMD ")[1])]
    (exposed,) = [args for name, args in dockerfile_instructions() if name == "EXPOSE"]
    assert f"{exposed}:{exposed}" in server["ports"]
    assert server["environment"]["EVENT_STORE_LISTEN"] == f"0.0.0.0:{exposed}"


def test_the_storage_url_names_the_database_service_and_its_credentials(
    compose: dict[str, Any],
) -> None:
    database = compose["services"][DATABASE]["environment"]
    url = compose["services"][SERVER]["environment"]["EVENT_STORE_STORAGE"]
    assert url == (
        f"postgresql://{database['POSTGRES_USER']}:{database['POSTGRES_PASSWORD']}"
        f"@{DATABASE}:5432/{database['POSTGRES_DB']}"
    )


def test_the_readme_names_what_the_compose_file_runs(compose: dict[str, Any]) -> None:
    section = readme_compose_section()
    assert "docker compose up" in section
    for name in [*compose["services"], *compose["volumes"]]:
        assert f"`{name}`" in section, name
    for variable in compose["services"][SERVER]["environment"]:
        assert f"`{variable}`" in section, variable
    for mapping in compose["services"][SERVER]["ports"]:
        assert f"localhost:{mapping.split(':')[0]}" in section, mapping


def test_the_build_context_holds_what_the_dockerfile_copies_and_not_the_private_state() -> None:
    copied = [
        source
        for name, arguments in dockerfile_instructions()
        if name == "COPY"
        for source in arguments.split()[:-1]
    ]
    assert copied and not any(docker_ignores(source) for source in copied)
    tracked = subprocess.run(
        ["git", "ls-files", *copied], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert tracked and not any(docker_ignores(path) for path in tracked)
    for private in [
        ".git/HEAD",
        ".venv/bin/python",
        "data/events.db",
        "client/logicblocks/event/__pycache__/x.cpython-311.pyc",
        ".mypy_cache/x.json",
        "tests/e2e/node/node_modules/x/index.js",
        "client/logicblocks_event_store_server.egg-info/PKG-INFO",
        "server/events.db-wal",
    ]:
        assert docker_ignores(private), private
    assert re.search(r"^\*$", (ROOT / ".dockerignore").read_text(), re.MULTILINE)
