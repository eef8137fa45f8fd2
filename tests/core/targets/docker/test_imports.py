"""A Docker run's keeper loads no HTTP library before it can launch: deck speaks to the engine."""

from __future__ import annotations

import subprocess
import sys

MODULES = ("launchdeck.core.targets.docker.target", "launchdeck.core.targets.docker.execution",
           "launchdeck.core.targets.docker.remote")


def test_the_docker_targets_import_neither_aiohttp_nor_aiodocker():
    code = ("import sys\n" + "".join(f"import {m}\n" for m in MODULES) +
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'aiohttp', 'aiodocker'}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
