"""Shared fixtures. Component fixtures (Docker Engine, sshd, Spark) live in tests/fixtures/."""

pytest_plugins = [
    "tests.fixtures.projects",
    "tests.fixtures.docker_engine",
    "tests.fixtures.ssh_server",
    "tests.fixtures.spark_cluster",
    "tests.fixtures.system_keyring",
]
