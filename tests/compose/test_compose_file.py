"""docker-compose.yaml, the Dockerfile and .env.example, checked against what runs here.

No Docker engine runs on this machine, so the file is checked for what can be checked: every
command exists in the installed Airflow CLI (the image installs the same pinned versions) or in
this repository, every Airflow setting is a real option, the env vars the code reads are set,
connection IDs and hosts match the code and the other services, versions agree with the lock,
health checks and start-up order make sense, and .env.example documents every variable.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.compose import compose
from tests.compose.compose import DOCKERFILE, REPO

AIRFLOW_SERVICES = {
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
    "airflow-init",
    "flower",
}
INFRA = {"airflow-db", "redis", "hitflow-db"}
ALL_SERVICES = AIRFLOW_SERVICES | INFRA | {"hit-service"}
ONE_SHOT = {"airflow-init"}
REQUIRED_SECRETS = {
    "AIRFLOW_ADMIN_PASSWORD",
    "AIRFLOW_FERNET_KEY",
    "AIRFLOW_JWT_SECRET",
    "AIRFLOW_API_SECRET_KEY",
    "AIRFLOW_DB_PASSWORD",
    "HITFLOW_DB_PASSWORD",
    "HITFLOW_REQUESTER_ACCESS_KEY_ID",
    "HITFLOW_REQUESTER_SECRET_ACCESS_KEY",
}
# Env vars hitflow's DAG code reads that may stay unset (with the reason).
OPTIONAL_IN_AIRFLOW = {"HITFLOW_BACKOFF_BASE_SECONDS": "publish backoff tuning; 0.1 s by default"}


@pytest.fixture(scope="module")
def model() -> dict[str, Any]:
    return compose.load(compose.filled_env())


@pytest.fixture(scope="module")
def services(model: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return model["services"]


def locked_version(package: str) -> str:
    match = re.search(rf"^{re.escape(package)}==(\S+)$", (REPO / "requirements.txt").read_text(), re.MULTILINE)
    assert match, f"{package} is not pinned in requirements.txt"
    return match.group(1)


def lock_python_version() -> str:
    match = re.search(r"--python-version (\d+\.\d+)", (REPO / "Makefile").read_text())
    assert match, "the Makefile's lock target names no --python-version"
    return match.group(1)


def dockerfile_from() -> str:
    """The Dockerfile's base image: its ``ARG AIRFLOW_BASE_IMAGE`` default, which ``FROM`` names."""
    text = DOCKERFILE.read_text()
    froms = re.findall(r"^FROM\s+(\S+)", text, re.MULTILINE)
    assert froms == ["${AIRFLOW_BASE_IMAGE}"], f"FROM must name the AIRFLOW_BASE_IMAGE build argument: {froms}"
    args = re.findall(r"^ARG\s+AIRFLOW_BASE_IMAGE=(\S+)", text, re.MULTILINE)
    assert len(args) == 1, "ARG AIRFLOW_BASE_IMAGE=<official image> before FROM"
    return args[0]


def init_script(services: dict[str, dict[str, Any]]) -> str:
    argv = compose.command_argv(services["airflow-init"])
    assert "entrypoint" not in services["airflow-init"], "keep the image's entrypoint (it sets the user up)"
    assert argv[:2] == ["bash", "-c"] and len(argv) == 3, argv[:2]
    return argv[2]


@pytest.fixture(scope="module")
def airflow_parser() -> Any:
    from airflow.cli.cli_parser import get_parser

    return get_parser()


def assert_airflow_command(parser: Any, argv: list[str], where: str) -> None:
    try:
        parser.parse_args(argv)
    except SystemExit as exc:  # argparse's way of refusing
        pytest.fail(f"{where}: `airflow {shlex.join(argv)}` is not a command of the installed Airflow ({exc})")


# ------------------------------------------------------------------------------------ services
def test_the_file_has_the_team_stack(services: dict[str, dict[str, Any]]) -> None:
    assert set(services) == ALL_SERVICES
    assert compose.read_env_file()["COMPOSE_PROJECT_NAME"] == "hitflow"


def test_the_file_is_one_both_compose_versions_run() -> None:
    """Compose v2 runs any format; Debian's docker-compose 1.29 needs a versioned one to accept
    start-order conditions, and refuses top-level keys its schema lacks (``name:``)."""
    raw = compose.raw()
    assert raw["version"] == "2.4"
    unknown = {key for key in raw if not key.startswith("x-")} - {"version", "services", "volumes", "networks"}
    assert not unknown, f"top-level keys Compose 1.29 refuses: {unknown}"
    for name, service in raw["services"].items():
        assert "deploy" not in service, f"{name}: `deploy` is ignored by format 2.4"


def test_airflow_image_is_pinned_to_the_locked_version(services: dict[str, dict[str, Any]]) -> None:
    airflow = locked_version("apache-airflow")
    import airflow as installed

    assert installed.__version__ == airflow, "the venv's Airflow differs from requirements.txt"
    assert dockerfile_from() == f"apache/airflow:{airflow}-python{lock_python_version()}"
    for name in AIRFLOW_SERVICES | {"hit-service"}:
        service = services[name]
        assert service["build"]["context"] == ".", f"{name} must run the image built from the Dockerfile"
        # .env.example's choice is the official image, the Dockerfile's own default
        assert service["build"]["args"] == {"AIRFLOW_BASE_IMAGE": dockerfile_from()}, name
        assert service["image"].endswith(f":{airflow}"), f"{name}: image tag {service['image']} is not {airflow}"
    assert len({services[n]["image"] for n in AIRFLOW_SERVICES | {"hit-service"}}) == 1, "one image for all"
    for name in INFRA:
        image = services[name]["image"]
        assert ":" in image and not image.endswith(":latest"), f"{name}: pin the image tag ({image})"
        assert "build" not in services[name]


def test_images_are_chosen_by_variables_defaulting_to_the_official_ones() -> None:
    """The file that is tested is the file users run: only variables pick the registry-free images."""
    text = compose.COMPOSE_FILE.read_text()
    assert text.count("image: ${POSTGRES_IMAGE:-postgres:16}") == 2
    assert text.count("image: ${REDIS_IMAGE:-redis:7.2-bookworm}") == 1
    assert f"AIRFLOW_BASE_IMAGE: ${{AIRFLOW_BASE_IMAGE:-{dockerfile_from()}}}" in text
    example = compose.read_env_file()
    assert example["POSTGRES_IMAGE"] == "postgres:16" and example["REDIS_IMAGE"] == "redis:7.2-bookworm"
    assert example["AIRFLOW_BASE_IMAGE"] == dockerfile_from()


def test_the_registry_free_airflow_image_installs_what_the_dockerfile_does() -> None:
    """deploy/images/airflow installs the Dockerfile's packages from the host's wheels, so the
    Dockerfile's `pip install` finds every one already there and needs no registry."""
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    words = shlex.split(re.search(r"pip install (.+)", text).group(1))  # type: ignore[union-attr]
    dockerfile = {w for w in words if not w.startswith("-") and not w.endswith("requirements.txt")}
    listed = REPO / "deploy" / "images" / "airflow" / "packages.txt"
    stand_in = {line.strip() for line in listed.read_text().splitlines() if line.strip() and not line.startswith("#")}
    assert stand_in == dockerfile


def test_dockerfile_installs_locked_packages_only() -> None:
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    install = re.search(r"pip install (.+)", text)
    assert install, "the Dockerfile installs no packages"
    words = shlex.split(install.group(1))
    assert "-c" in words and words[words.index("-c") + 1].endswith("requirements.txt"), "install with the lock"
    packages = [w for w in words if not w.startswith("-") and not w.endswith("requirements.txt")]
    assert f"apache-airflow=={locked_version('apache-airflow')}" in packages
    for package in packages:
        name = re.split(r"[=<>\[]", package)[0]
        locked_version(name)  # fails if the lock does not pin it
    assert "apache-airflow-providers-celery" in packages, "the CeleryExecutor needs the celery provider"
    copied = re.findall(r"^COPY\s+(?:--\S+\s+)*(\S+)\s+(\S+)", DOCKERFILE.read_text(), re.MULTILINE)
    for source, _ in copied:
        assert (REPO / source).exists(), f"Dockerfile copies {source}, which is not in the repository"
    dockerignore = (REPO / ".dockerignore").read_text().split()
    assert ".venv" in dockerignore, "keep the virtualenv out of the build context"


def test_commands_exist(services: dict[str, dict[str, Any]], airflow_parser: Any) -> None:
    """Airflow commands parse with the installed CLI; the HIT service's with its own parser."""
    entrypoint_commands = {
        "airflow-apiserver": ["api-server"],
        "airflow-scheduler": ["scheduler"],
        "airflow-dag-processor": ["dag-processor"],
        "airflow-triggerer": ["triggerer"],
        "airflow-worker": ["celery", "worker"],
        "flower": ["celery", "flower"],
    }
    for name, expected in entrypoint_commands.items():
        argv = compose.command_argv(services[name])
        assert argv == expected, f"{name} runs `airflow {shlex.join(argv)}`"
        assert "entrypoint" not in services[name], f"{name} must use the image's entrypoint (`airflow …`)"
        assert_airflow_command(airflow_parser, argv, name)

    script = init_script(services)
    airflow_lines = [line.strip() for line in script.splitlines() if line.strip().startswith("airflow ")]
    assert [shlex.split(line)[1:3] for line in airflow_lines] == [["db", "migrate"], ["connections", "import"]]
    for line in airflow_lines:
        argv = shlex.split(line.replace("${HITFLOW_CONNECTIONS_FILE}", "/tmp/c.json"))[1:]
        assert_airflow_command(airflow_parser, argv, "airflow-init")

    for name, service in services.items():
        argv = compose.healthcheck_argv(service) if "healthcheck" in service else []
        if argv[:1] == ["airflow"]:
            assert_airflow_command(airflow_parser, [a.replace("${HOSTNAME}", "h") for a in argv[1:]], name)

    from hit_service.__main__ import _parser

    argv = compose.command_argv(services["hit-service"])
    assert argv[:3] == ["python", "-m", "hit_service"], argv
    assert (REPO / "hit_service" / "__main__.py").exists()
    assert _parser().parse_args(argv[3:]).command in (None, "serve")


def test_worker_health_check_pings_this_worker(services: dict[str, dict[str, Any]]) -> None:
    import importlib

    argv = compose.healthcheck_argv(services["airflow-worker"])
    assert argv[0] == "celery" and argv[1] == "--app"
    module, _, attr = argv[2].rpartition(".")
    assert hasattr(importlib.import_module(module), attr), f"{argv[2]} is not a Celery app"
    assert argv[3:6] == ["inspect", "ping", "-d"] and argv[6] == "celery@${HOSTNAME}"
    assert (Path(__import__("sys").executable).parent / "celery").exists(), "the celery command is not installed"


def test_airflow_settings_are_real_options(services: dict[str, dict[str, Any]]) -> None:
    from airflow.configuration import conf

    known = conf.configuration_description
    for name in AIRFLOW_SERVICES:
        for key in compose.environment(services[name]):
            if not key.startswith("AIRFLOW__"):
                continue
            _, section, option = key.split("__", 2)
            section, option = section.lower(), option.lower()
            assert section in known and option in known[section]["options"], f"{name}: {key} is no Airflow option"


def test_executor_broker_and_databases_point_at_the_services(services: dict[str, dict[str, Any]]) -> None:
    env = compose.environment(services["airflow-scheduler"])
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    broker = urlsplit(env["AIRFLOW__CELERY__BROKER_URL"])
    assert broker.scheme == "redis" and broker.hostname == "redis" and broker.port == 6379
    db_env = compose.environment(services["airflow-db"])
    for key in ("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__CELERY__RESULT_BACKEND"):
        url = urlsplit(env[key].removeprefix("db+"))
        assert url.scheme in ("postgresql", "postgresql+psycopg2"), key
        assert (url.hostname, url.port, url.path.lstrip("/")) == ("airflow-db", 5432, db_env["POSTGRES_DB"]), key
        assert (url.username, url.password) == (db_env["POSTGRES_USER"], db_env["POSTGRES_PASSWORD"]), key
    execution = urlsplit(env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"])
    assert execution.hostname == "airflow-apiserver" and execution.path == "/execution/"
    assert execution.port in compose.port_targets(services["airflow-apiserver"])
    # All components sign and check the same JWTs, and read the same Fernet key.
    shared = ("AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__API__SECRET_KEY")
    for key in shared:
        values = {compose.environment(services[n]).get(key) for n in AIRFLOW_SERVICES}
        assert len(values) == 1 and None not in values and "" not in values, f"{key} differs or is unset: {values}"


def test_env_vars_read_by_the_dags_are_set(services: dict[str, dict[str, Any]]) -> None:
    pattern = re.compile(r"""os\.environ(?:\.get\(|\[)\s*["'](HITFLOW_[A-Z0-9_]+)["']""")
    read = {
        name
        for path in [*REPO.glob("dags/**/*.py"), *REPO.glob("plugins/**/*.py")]
        for name in pattern.findall(path.read_text())
    }
    assert {"HITFLOW_INCLUDE_DIR", "HITFLOW_OUTPUT_DIR"} <= read, f"the code reads {read}"
    for name in AIRFLOW_SERVICES:
        env = compose.environment(services[name])
        missing = read - set(env) - set(OPTIONAL_IN_AIRFLOW)
        assert not missing, f"{name} does not set {missing}"
        volumes = compose.mounts(services[name])
        assert volumes.get(env["HITFLOW_INCLUDE_DIR"]) == "./include", f"{name}: HITFLOW_INCLUDE_DIR is not ./include"
        assert volumes.get(env["HITFLOW_OUTPUT_DIR"]) == "./output", f"{name}: HITFLOW_OUTPUT_DIR is not ./output"


def test_dags_plugins_and_include_are_mounted(services: dict[str, dict[str, Any]]) -> None:
    for name in AIRFLOW_SERVICES:
        volumes = compose.mounts(services[name])
        for folder in ("dags", "plugins", "include"):
            assert volumes.get(f"/opt/airflow/{folder}") == f"./{folder}", f"{name} does not mount ./{folder}"
            assert (REPO / folder).is_dir()
    assert {Path(p).name for p in REPO.glob("dags/*.py")} >= {"mturk_publish_hits.py"}


def test_hit_service_settings_load_and_match_the_connection(services: dict[str, dict[str, Any]]) -> None:
    from hit_service.settings import Settings

    service = services["hit-service"]
    env = compose.environment(service)
    settings = Settings.from_env(env)  # what the container would start with
    assert settings.host == "0.0.0.0", "inside a container the service must listen on every interface"
    assert settings.port in compose.port_targets(service)
    assert f":{settings.port}/health/ready" in " ".join(compose.healthcheck_argv(service))  # readiness, not liveness
    filled = compose.filled_env()
    keys = (filled["HITFLOW_REQUESTER_ACCESS_KEY_ID"], filled["HITFLOW_REQUESTER_SECRET_ACCESS_KEY"])
    assert settings.requester_keys == (keys,)
    db = urlsplit(settings.db_url)
    assert (db.hostname, db.path.lstrip("/")) == ("hitflow-db", filled["HITFLOW_HIT_SERVICE_DB"])
    read = set(re.findall(r'"(HITFLOW_[A-Z0-9_]+)"', (REPO / "hit_service" / "settings.py").read_text()))
    unknown = {k for k in env if k.startswith("HITFLOW_")} - read
    assert not unknown, f"hit-service sets variables the service does not read: {unknown}"
    assert settings.layouts_dir == Path("/opt/hitflow/include/layouts")
    assert re.search(r"^COPY\s+.*\binclude\s+/opt/hitflow/include$", DOCKERFILE.read_text(), re.MULTILINE)

    init = compose.environment(services["airflow-init"])
    endpoint = urlsplit(init["MTURK_ENDPOINT_URL"])
    assert endpoint.hostname == "hit-service" and endpoint.port == settings.port
    assert (init["HITFLOW_REQUESTER_ACCESS_KEY_ID"], init["HITFLOW_REQUESTER_SECRET_ACCESS_KEY"]) == keys
    assert init["MTURK_REGION"] == "us-east-1"


def test_connections_are_the_ones_the_code_uses(services: dict[str, dict[str, Any]]) -> None:
    from hitflow.connections import DB_CONN_ID, MTURK_CONN_ID

    script = init_script(services)
    ids = set(re.findall(r'^\s*"([a-z_]+)": \{\s*$', script, re.MULTILINE))
    assert ids == {DB_CONN_ID, MTURK_CONN_ID}
    init = compose.environment(services["airflow-init"])
    assert init["HITFLOW_DB_HOST"] == "hitflow-db"
    assert init["HITFLOW_SOURCE_DB"] == compose.environment(services["hitflow-db"])["POSTGRES_DB"]


# ------------------------------------------------------------------------------- health, order
def test_every_long_running_service_has_a_health_check(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        if name in ONE_SHOT:
            assert "healthcheck" not in service and service["restart"] == "no", name
            continue
        check = service.get("healthcheck")
        assert check and check.get("test"), f"{name} has no health check"
        assert {"interval", "timeout", "retries"} <= set(check), f"{name}: health check lacks timing"
        test = check["test"]
        if test[0] == "CMD-SHELL" and shlex.split(test[1])[0] in ("airflow", "celery"):
            # through a shell, a check that times out leaves its Python process running (seen
            # piling up on a busy host): exec replaces the shell, so the timeout kills the check
            pytest.fail(f"{name}: run the check with `exec` ({test[1]})")
        assert service.get("restart") in ("always", "unless-stopped"), f"{name} is not restarted"


def test_start_order(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        for dep, spec in (service.get("depends_on") or {}).items():
            assert dep in services, f"{name} depends on unknown {dep}"
            condition = spec["condition"]
            if condition == "service_healthy":
                assert "healthcheck" in services[dep], f"{name} waits for {dep} to be healthy; it has no check"
            elif condition == "service_completed_successfully":
                assert dep in ONE_SHOT, f"{name} waits for {dep} to exit"
            else:
                pytest.fail(f"{name} → {dep}: condition {condition} does not wait for readiness")
    for name in AIRFLOW_SERVICES - ONE_SHOT:
        deps = services[name]["depends_on"]
        assert {"airflow-init", "airflow-db", "redis"} <= set(deps), f"{name} may start before its databases"
    assert set(services["airflow-init"]["depends_on"]) == {"airflow-db", "hitflow-db"}
    assert {"hitflow-db", "airflow-init"} <= set(services["hit-service"]["depends_on"])
    assert services["airflow-worker"]["depends_on"]["airflow-apiserver"]["condition"] == "service_healthy"
    # No cycles: compose could never start them.
    order: list[str] = []
    pending = dict(services)
    while pending:
        ready = [n for n, s in pending.items() if set(s.get("depends_on") or {}) <= set(order)]
        assert ready, f"dependency cycle among {sorted(pending)}"
        order += ready
        for n in ready:
            del pending[n]


def test_workers_can_be_scaled(services: dict[str, dict[str, Any]]) -> None:
    worker = services["airflow-worker"]
    assert "container_name" not in worker and "ports" not in worker and "hostname" not in worker
    assert all("container_name" not in s for s in services.values())
    assert compose.environment(worker)["AIRFLOW__CELERY__WORKER_CONCURRENCY"].isdigit()


# ---------------------------------------------------------------------------------- .env.example
def test_env_example_documents_every_variable() -> None:
    example = compose.read_env_file()
    used = compose.variables_used() | {"COMPOSE_PROJECT_NAME"}  # read by compose itself
    assert set(example) == used, f"only in compose: {used - set(example)}; only in .env.example: {set(example) - used}"
    blocks = compose.ENV_EXAMPLE.read_text().split("\n\n")
    for name in example:
        block = next(b for b in blocks if re.search(rf"^{name}=", b, re.MULTILINE))
        assert any(line.startswith("#") for line in block.splitlines()), f"{name} is not explained in .env.example"


def test_secrets_are_required_and_have_no_defaults() -> None:
    example = compose.read_env_file()
    assert {k for k, v in example.items() if not v} == REQUIRED_SECRETS | {"HITFLOW_HIT_SERVICE_OPERATOR_PASSWORD"}
    with pytest.raises(compose.InterpolationError) as refused:
        compose.load(example)
    assert {part.split(":")[0].strip() for part in str(refused.value).split(";")} == REQUIRED_SECRETS
    text = compose.COMPOSE_FILE.read_text()
    for name in REQUIRED_SECRETS:
        assert not re.search(rf"\$\{{{name}:?-", text), f"{name} must not have a default in docker-compose.yaml"
