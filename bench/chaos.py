"""Chaos: what a crash, a cut link, a full disk or a race does to runs and project files.

Each case is tried N times against the real parts (the local target, the Docker Engine, the
test sshd on 127.0.0.1:2222, a small tmpfs) through the real `deck` command line, and checked
the way a user would check it: the run's final state, its exit code, its outputs and every line
of its log exactly once; every edit of a project file landed.

Cases:
- keeper-kill/local, keeper-kill/docker: `kill -9` of the run's keeper at a random line of a
  counting script; any deck command revives a keeper, which must finish the run truthfully.
- link-cut/remote: every SSH session to the test host killed at a random line of a remote run;
  the run must complete with every line once when the link comes back.
- full-disk: a run that writes past a full tmpfs must end Failed saying "no space left on
  device"; once space is back the next run completes.
- concurrent-edits: ten `deck runconfig env set` at once; all ten variables must land and no
  command that did not write may say it did.

Bounded: every case stops after --tries tries or --budget seconds, whichever comes first.
Prints a table: case, tries, failures, and the first failure's reason.
Run: python bench/chaos.py [--tries 10] [--only CASE[,CASE]] [--budget 600]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import REPO, copy_sample_project, deck_command, exit_on_signals, \
    source_env, stop_project  # noqa: E402

LINES = 60
COUNTER = ("import os, sys, time, deckrun\n"
           f"for i in range({LINES}):\n"
           "    print(f'line {i}', flush=True)\n"
           "    deckrun.log('i', i)\n"
           "    time.sleep(0.03)\n"
           "open('outputs/done.txt', 'w').write('ok')\n"
           "sys.exit(3)\n")
EXPECTED_LOG = "".join(f"line {i}\n" for i in range(LINES))


class Failure(Exception):
    """One try went wrong; the message says how, as a user would see it."""


class Deck:
    def __init__(self, project: Path, env: dict[str, str] | None = None) -> None:
        self.project = project
        self.env = env or source_env()

    def __call__(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run([*deck_command(), *args], cwd=self.project, env=self.env,
                              capture_output=True, text=True, timeout=timeout)

    def submit_detached(self, config: str, script: str) -> str:
        result = self("submit", "-c", config, "--detach", script)
        if result.returncode != 0:
            raise Failure(f"submit exited {result.returncode}: {result.stderr.strip()[-200:]}")
        return result.stdout.splitlines()[0].split(": ", 1)[1]

    def show(self, run_id: str) -> dict:
        result = self("runs", "show", run_id, "--json")
        if result.returncode != 0:
            raise Failure(f"runs show exited {result.returncode}: {result.stderr.strip()}")
        return json.loads(result.stdout)


def wait_until(condition: Callable[[], object], timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise Failure(f"timed out waiting for {what}")


def log_of(deck: Deck, run_id: str) -> str:
    path = deck.project / ".deck" / "runs" / run_id / "output.log"
    return path.read_text(errors="replace") if path.exists() else ""


def keeper_pid(deck: Deck, run_id: str) -> int | None:
    from launchdeck.core.history.store import HistoryStore

    history = HistoryStore(deck.project / ".deck" / "history.db")
    try:
        return history.get_run(run_id).keeper_pid
    finally:
        history.close()


def check_counter_run(deck: Deck, run_id: str) -> None:
    """The run ended as the script did: Failed with exit 3, whole log, outputs, metrics."""
    follow = deck("logs", run_id, "-f", timeout=600)  # revives a dead keeper
    got = follow.stdout.splitlines()
    script_lines = [line for line in got if line.startswith("line ")]
    # Lines deck wrote before the script's (prepare's) must be there once, like the script's.
    if "\n".join(script_lines) + "\n" != EXPECTED_LOG or len(set(got)) != len(got):
        raise Failure(f"log has {len(script_lines)} script lines, {len(set(got))} distinct of "
                      f"{len(got)} (want {LINES} script lines, each once)")
    run = deck.show(run_id)
    if (run["status"], run["exit_code"]) != ("Failed", 3):
        raise Failure(f"ended {run['status']} exit {run['exit_code']}: {run.get('error')}")
    if run.get("artifacts") != ["outputs/done.txt"]:
        raise Failure(f"artifacts {run.get('artifacts')}")
    if run["metrics"].get("i") != list(range(LINES)):
        raise Failure(f"metric i has {len(run['metrics'].get('i', []))} values")


# -- cases ----------------------------------------------------------------------------------------

def keeper_kill(deck: Deck, config: str) -> None:
    run_id = deck.submit_detached(config, "counter.py")
    at = random.randrange(-1, LINES)  # -1: before the first line, while it starts
    if at >= 0:
        wait_until(lambda: f"line {at}\n" in log_of(deck, run_id), 300, f"line {at}")
    pid = wait_until(lambda: keeper_pid(deck, run_id), 60, "a keeper")
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass  # it had finished already: the check below still holds
    check_counter_run(deck, run_id)


def link_cut(deck: Deck, sshd_listener: int) -> None:
    run_id = deck.submit_detached("remote1", "counter.py")
    at = random.randrange(0, LINES)
    wait_until(lambda: f"line {at}\n" in log_of(deck, run_id), 300, f"line {at}")
    for pid in _children(sshd_listener):  # every session to the host: the link is gone
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    check_counter_run(deck, run_id)


def full_disk(deck: Deck, mount: Path) -> None:
    filler = mount / "filler"
    (deck.project / "flood.py").write_text(
        "import sys\nfor i in range(400000):\n    print('x' * 60, i)\n")
    try:
        run_id = deck.submit_detached("local", "flood.py")
    except Failure as exc:
        if "no space left on device" in str(exc).lower():
            run_id = None  # refused at submit with the right reason: fine
        else:
            raise
    if run_id:
        run = wait_until(lambda: (r := deck.show(run_id))["status"] in
                         ("Completed", "Failed", "Canceled") and r, 300, "the run to end")
        if run["status"] != "Failed" or "no space left on device" not in (run["error"] or ""):
            raise Failure(f"ended {run['status']}: {run.get('error')}")
    # Space comes back: the next run must work, with no leftover damage.
    for path in deck.project.glob(".deck/runs/*/output.log"):
        path.write_bytes(b"")  # the user frees space (logs of the flood)
    filler.unlink(missing_ok=True)
    result = deck("submit", "-c", "local", "hello.py")
    if result.returncode != 0 or "hello" not in result.stdout:
        raise Failure(f"after freeing space: exit {result.returncode} {result.stderr[-200:]}")


def concurrent_edits(deck: Deck) -> None:
    names = [f"K{i}_{random.randrange(10**6)}" for i in range(10)]
    procs = [subprocess.Popen([*deck_command(), "runconfig", "env", "set", "local",
                               f"{n}=v{i}"], cwd=deck.project, env=deck.env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i, n in enumerate(names)]
    said = {}
    for name, proc in zip(names, procs):
        out, err = proc.communicate(timeout=120)
        said[name] = (proc.returncode, out)
    shown = deck("runconfig", "show", "local", "--json")
    env = json.loads(shown.stdout)["EnvironmentVariables"] or {}
    missing = [n for n in names if n not in env]
    liars = [n for n in missing if said[n][0] == 0]
    if missing:
        raise Failure(f"{len(missing)} of 10 missing, {len(liars)} of them said they were set")


def _children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
                found.append(int(entry.name))
    return found


# -- set-up ---------------------------------------------------------------------------------------

def local_project(root: Path) -> Deck:
    project = copy_sample_project(root / "project")
    (project / "counter.py").write_text(COUNTER)
    (project / "hello.py").write_text("print('hello')\n")
    return Deck(project)


def docker_project(root: Path) -> Deck:
    subprocess.run(["bash", str(REPO / "scripts/infra/docker.sh")], check=True,
                   capture_output=True)
    deck = local_project(root)
    image = "launchdeck-base:bookworm-py311"
    (deck.project / "aml_config/docker.compute").write_text(
        f"type: docker\nbaseDockerImage: {image}\nuserManagedEnvironment: true\n")
    (deck.project / "aml_config/docker.runconfig").write_text(
        "ArgumentVector:\n- $file\nTarget: docker\nFramework: Python\n"
        "PrepareEnvironment: true\n")
    return deck


def remote_project(root: Path) -> tuple[Deck, int]:
    out = subprocess.run(["bash", str(REPO / "scripts/infra/sshd.sh")], check=True,
                         capture_output=True, text=True).stdout
    f = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    deck = local_project(root)
    home = root / "home"
    (home / ".ssh").mkdir(parents=True)
    algorithm, data = Path(f["DECK_SSHD_HOST_PUBKEY"]).read_text().split()[:2]
    (home / ".ssh/known_hosts").write_text(
        f"[{f['DECK_SSHD_HOST']}]:{f['DECK_SSHD_PORT']} {algorithm} {data}\n")
    (deck.project / "aml_config/remote1.compute").write_text(
        f"type: remote\naddress: {f['DECK_SSHD_HOST']}\nport: {f['DECK_SSHD_PORT']}\n"
        f"username: {f['DECK_SSHD_USER']}\nidentityFile: {f['DECK_SSHD_CLIENT_KEY']}\n")
    (deck.project / "aml_config/remote1.runconfig").write_text(
        "ArgumentVector:\n- $file\nTarget: remote1\nFramework: Python\n"
        "PrepareEnvironment: false\n")
    deck.env["HOME"] = str(home)
    listener = int(Path(f["DECK_SSHD_PIDFILE"]).read_text())
    return deck, listener


def full_disk_project(root: Path) -> tuple[Deck, Path]:
    mount = root / "small"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)], check=True)
    deck = local_project(mount)
    shutil.rmtree(deck.project / ".deck", ignore_errors=True)
    return deck, mount


# -- the table ------------------------------------------------------------------------------------

CASES = ["keeper-kill/local", "keeper-kill/docker", "link-cut/remote", "full-disk",
         "concurrent-edits"]


def run_case(name: str, tries: int, budget: float, scratch: Path) -> tuple[int, int, str]:
    root = scratch / name.replace("/", "-")
    root.mkdir()
    cleanup: list[Callable[[], None]] = []
    done = failed = 0
    first = ""
    try:
        if name == "keeper-kill/local":
            deck = local_project(root)
            one = lambda: keeper_kill(deck, "local")  # noqa: E731
        elif name == "keeper-kill/docker":
            deck = docker_project(root)
            one = lambda: keeper_kill(deck, "docker")  # noqa: E731
        elif name == "link-cut/remote":
            deck, listener = remote_project(root)
            one = lambda: link_cut(deck, listener)  # noqa: E731
        elif name == "full-disk":
            deck, mount = full_disk_project(root)
            cleanup.append(lambda: subprocess.run(["umount", "-l", str(mount)], check=False))

            def one() -> None:
                # Fill all but a little of the tmpfs, as another program would.
                free = shutil.disk_usage(mount).free
                (mount / "filler").write_bytes(b"\0" * max(0, free - 600_000))
                full_disk(deck, mount)
        else:
            deck = local_project(root)
            one = lambda: concurrent_edits(deck)  # noqa: E731
        cleanup.insert(0, lambda: stop_project(deck.project))
        deadline = time.monotonic() + budget
        while done < tries and time.monotonic() < deadline:
            done += 1
            try:
                one()
            except Failure as exc:
                failed += 1
                first = first or str(exc)
            except subprocess.TimeoutExpired as exc:
                failed += 1
                first = first or f"a deck command hung: {exc.cmd[-3:]}"
    except (OSError, subprocess.CalledProcessError) as exc:
        first = first or f"could not set up: {exc}"
    finally:
        for step in cleanup:
            try:
                step()
            except Exception as exc:  # clean-up goes on; say what did not
                print(f"clean-up of {name}: {exc!r}", file=sys.stderr)
    return done, failed, first


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tries", type=int, default=10)
    parser.add_argument("--budget", type=float, default=600.0, help="seconds per case at most")
    parser.add_argument("--only", default=",".join(CASES))
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    random.seed(args.seed)
    exit_on_signals()
    rows = []
    with tempfile.TemporaryDirectory(prefix="deck-chaos-") as scratch:
        for name in args.only.split(","):
            started = time.monotonic()
            done, failed, first = run_case(name, args.tries, args.budget, Path(scratch))
            rows.append((name, done, failed, time.monotonic() - started, first))
            print(f"{name:20} tries {done:3}  failures {failed:3}  "
                  f"{time.monotonic() - started:6.0f} s  {first}", flush=True)
    print()
    print("| case | tries | failures | first failure |")
    print("| --- | --- | --- | --- |")
    for name, done, failed, _, first in rows:
        print(f"| {name} | {done} | {failed} | {first or '—'} |")
    return 1 if any(failed or not done for _, done, failed, _, _ in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
