"""``deck link status|stop``: the SSH link processes that share one connection per host."""

from __future__ import annotations

import asyncio
import time

from launchdeck.cli.common import print_json, print_table


def register(sub) -> None:
    p = sub.add_parser(
        "link", help="show or stop the SSH link processes (one connection per host)",
        description="Every deck process reaches a remote host through one link process per "
                    "host, which holds the SSH connection and leaves by itself after "
                    "DECK_LINK_IDLE_SECONDS (60) without a client. Its socket lives in "
                    "$XDG_RUNTIME_DIR/launchdeck/ (or /tmp/launchdeck-UID/). Stopping a link "
                    "never stops a run: runs go on on their hosts and the next deck command "
                    "starts a new link.")
    lsub = p.add_subparsers(dest="link_command", metavar="COMMAND")
    status = lsub.add_parser("status", help="list the link processes (the default)")
    status.add_argument("--json", action="store_true", help="print JSON")
    status.set_defaults(handler=show_status)
    stop = lsub.add_parser("stop", help="ask every link process to leave now")
    stop.set_defaults(handler=stop_all)
    p.set_defaults(handler=show_status, json=False)


def show_status(args) -> int:
    from launchdeck.core.remote.broker.client import link_status

    links = link_status()
    if args.json:
        print_json(links)
        return 0
    if not links:
        print("no SSH link process is running")
        return 0
    now = time.time()
    print_table(("host", "pid", "up", "answers", "socket"),
                [(link.get("endpoint"), link.get("pid"),
                  f"{now - float(link.get('started') or now):.0f} s",
                  "yes" if link["answers"] else "no (stale)", link.get("socket"))
                 for link in links])
    return 0


def stop_all(args) -> int:
    from launchdeck.core.remote.broker.client import stop_links

    stopped = asyncio.run(stop_links())
    print(f"asked {stopped} link process{'es' if stopped != 1 else ''} to stop")
    return 0
