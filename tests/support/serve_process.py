"""`crisis-mas serve` as a subprocess for the e2e modules: a deploy YAML on 127.0.0.1, a bearer
token, the log, the wait for "serving on", and a stop that signals only the processes this
helper started (SIGTERM, then kill what is left) — never `ray stop`."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import yaml
from clirun import CLI, REPO


@dataclass
class Server:
    url: str
    port: int
    token: str
    proc: subprocess.Popen
    log: Path
    home: Path
    run_ids: list[str] = field(default_factory=list)

    def headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"}

    def client(self) -> Any:
        from crisis_mas.service.client import CrisisMasClient

        return CrisisMasClient(self.url, token=self.token, timeout=600)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def process_family(pid: int) -> list[psutil.Process]:
    """A process and all its descendants (empty once it is gone)."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def stop(proc: subprocess.Popen, family: list[psutil.Process], wait_s: float) -> list:
    """SIGTERM the server (it shuts Serve and Ray down); returns processes still alive."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    _, alive = psutil.wait_procs(family, timeout=wait_s)
    return alive


@contextmanager
def running_serve(
    tmp: Path, args: dict[str, Any], home: Path, deadline_s: float
) -> Iterator[Server]:
    """`crisis-mas serve` with `args` as the app's arguments, until the block ends."""
    port = free_port()
    deploy = {
        "http_options": {"host": "127.0.0.1", "port": port},
        "applications": [
            {
                "name": "crisis-mas",
                "route_prefix": "/",
                "import_path": "crisis_mas.service.app:build_app",
                "args": args,
            }
        ],
    }
    cfg = tmp / "serve.yaml"
    cfg.write_text(yaml.safe_dump(deploy))
    token = secrets.token_hex(16)
    log = tmp / "serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [CLI, "serve", "--config", str(cfg), "--num-cpus", "2"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "CRISIS_MAS_API_TOKEN": token},
            cwd=REPO,
            start_new_session=True,
        )
    srv = Server(f"http://127.0.0.1:{port}", port, token, proc, log, home)
    family: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + deadline_s
        while "serving on" not in log.read_text():
            assert proc.poll() is None, f"serve exited:\n{log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"not serving:\n{log.read_text()[-3000:]}"
            time.sleep(2)
        family = process_family(proc.pid)
        yield srv
    finally:
        family = list({p.pid: p for p in [*family, *process_family(proc.pid)]}.values())
        for p in stop(proc, family, 90):  # only what this helper started, if SIGTERM did not
            p.kill()
