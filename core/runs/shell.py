"""A shell in a running run's container: the command that gives it the terminal.

Docker runs: ``docker exec -it CONTAINER sh`` against the target's engine. Remote Docker
runs: ``ssh -t`` to the host (its port, user and identity file as the ``.compute`` file says;
the ``~/.ssh/config`` and ``~/.ssh/known_hosts`` deck's own links read, so a host deck trusts
is trusted and an unknown key is asked about by ssh, never accepted silently), then
``docker exec`` there.
The caller hands the terminal over (the dashboard suspends itself) and gets it back on exit.
"""

from __future__ import annotations

import shlex
import shutil
from typing import TYPE_CHECKING

from launchdeck.core.errors import TargetError

if TYPE_CHECKING:
    from launchdeck.core.history.records import RunRecord
    from launchdeck.core.project import Project

SHELL = "sh"  # every image deck runs has it; bash may not be there


def shell_command(project: "Project", run: "RunRecord") -> list[str]:
    """argv of a terminal shell inside ``run``'s container; TargetError says why there is none."""
    if not run.status.is_active or not run.external_id:
        raise TargetError(f"run {run.run_id} is {run.status.value.lower()}: a shell opens only "
                          "in a running run's container")
    compute = project.load_compute(run.target) if project.compute_path(run.target).is_file() \
        else None
    kind = str(compute.type) if compute is not None else "local"
    if kind == "docker":
        from launchdeck.core.docker.engine import DEFAULT_URL, engine_url

        url = engine_url()
        host = [] if url == DEFAULT_URL else ["-H", url]
        return [_tool("docker"), *host, "exec", "-it", run.external_id, SHELL]
    if kind == "remotedocker":
        assert compute is not None  # kind is "local" only without a .compute file
        from launchdeck.core.targets.docker.remote import DOCKER_SOCKET

        from launchdeck.core.remote.hostkeys import DEFAULT_KNOWN_HOSTS
        from launchdeck.core.remote.sshconfig import DEFAULT_CONFIG

        # The files deck's own links read ($HOME's): OpenSSH alone would take the passwd home.
        argv = [_tool("ssh"), "-t", "-o",
                f"UserKnownHostsFile={DEFAULT_KNOWN_HOSTS.expanduser()}"]
        if DEFAULT_CONFIG.expanduser().is_file():
            argv += ["-F", str(DEFAULT_CONFIG.expanduser())]
        if compute.explicit_port:
            argv += ["-p", str(compute.explicit_port)]
        if compute.identity_file:
            argv += ["-i", compute.identity_file]
        if compute.username:
            argv += ["-l", compute.username]
        remote = ["docker", "-H", f"unix://{DOCKER_SOCKET}", "exec", "-it", run.external_id,
                  SHELL]
        return [*argv, "--", compute.address or "", shlex.join(remote)]
    raise TargetError(f"run {run.run_id} runs on {kind} target {run.target}: a shell opens in "
                      "the containers of docker and remotedocker runs only")


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise TargetError(f"the {name} command is not installed on this machine; a shell in "
                          "the run's container needs it")
    return found
