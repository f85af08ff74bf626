"""`crisis-mas serve`: a local Ray on 127.0.0.1 and the Serve app; stops cleanly on Ctrl-C/TERM.

The app is the one `serve run` / `serve deploy` start from the same YAML (`build_app`). This
command adds what a single machine needs: a private Ray bound to loopback, checks that fail fast
(no token on a public address, port taken, replicas that cannot fit the CPUs), a start-up
deadline, and a shutdown that leaves no Ray process behind (serve.shutdown, then ray.shutdown).
"""

from __future__ import annotations

import os
import signal
import socket
import time
from pathlib import Path
from types import FrameType
from typing import Any

import typer

from crisis_mas.cli.common import err_console, handles_errors, quiet_engines
from crisis_mas.errors import CrisisMasError, InputError


class _Stop(Exception):
    """SIGTERM arrived: leave the serving loop and shut down."""


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise _Stop()


def _check_port(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as err:
            raise InputError(f"cannot listen on {host}:{port}: {err.strerror or err}") from None


def _missing_adapters(app_cfg: Any) -> list[str]:
    from crisis_mas.experts.profiles import load_profiles
    from crisis_mas.pool.adapters import adapter_path

    model = app_cfg.crisis_mas.model
    if not model.use_adapters:
        return []
    return [e for e in load_profiles() if adapter_path(model, e) is None]


def _wait_running(name: str, deadline_s: float) -> None:
    """Poll Serve until the app runs; fail with Serve's own message if it cannot start."""
    from ray import serve

    t_end = time.monotonic() + deadline_s
    last = None
    while True:
        app = serve.status().applications.get(name)
        status = str(app.status) if app else "NOT_STARTED"
        if status.endswith("RUNNING"):
            return
        if status.endswith(("DEPLOY_FAILED", "UNHEALTHY")):
            details = [app.message] if app and app.message else []
            for dname, d in (app.deployments if app else {}).items():
                if d.message:
                    details.append(f"{dname}: {d.message.strip().splitlines()[-1]}")
            raise CrisisMasError(f"the Serve app failed to start: {'; '.join(details)[:800]}")
        if status != last:
            err_console.print(f"[dim]app {name}: {status.split('.')[-1].lower()}[/]")
            last = status
        if time.monotonic() > t_end:
            raise CrisisMasError(
                f"the Serve app was not running after {deadline_s:g} s (status {status}); "
                "are there enough CPUs for every replica? see --num-cpus"
            )
        time.sleep(1.0)


def _warn_exposed(host: str, port: int) -> None:
    """Say so if any process of this server listens beyond loopback (other than the HTTP
    address the operator chose): Ray's control plane must not be reachable from the network."""
    from crisis_mas.service.network import exposed

    for lis in exposed(os.getpid(), {(host, port)}):
        err_console.print(f"[yellow]warning:[/] listening beyond loopback: {lis}")


@handles_errors
def serve(
    config: Path | None = typer.Option(
        None, "--config", "-c", help="Serve deploy YAML (deploy/*.yaml), or an AppConfig YAML"
    ),
    host: str | None = typer.Option(
        None, "--host", help="Address to listen on (default 127.0.0.1; others need a token)"
    ),
    port: int | None = typer.Option(
        None, "--port", "-p", min=1, max=65535, help="HTTP port (default 8000)"
    ),
    num_cpus: float | None = typer.Option(
        None,
        "--num-cpus",
        min=0.01,
        max=4096,
        help="CPUs the local Ray may hand to replicas (default: all cores)",
    ),
    start_timeout: float = typer.Option(
        900.0,
        "--start-timeout",
        min=1,
        max=86400,
        help="Give up if the app is not running after this many s",
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show Ray and engine logs"),
) -> None:
    """Serve the HTTP API (assessments, runs, OpenAI chat/models, tools, health, metrics)."""
    from crisis_mas.service.config import DEFAULT_HOST, DEFAULT_PORT, load_serve_file
    from crisis_mas.service.security import api_token, check_bind

    quiet_engines(verbose)
    found = load_serve_file(config)
    app_cfg = found.app
    host = host or found.host or DEFAULT_HOST
    port = port or found.port or DEFAULT_PORT
    check_bind(host, api_token(app_cfg.api.token_env), app_cfg.api.token_env)
    _check_port(host, port)
    missing = _missing_adapters(app_cfg)
    if missing:
        err_console.print(
            f"[yellow]warning:[/] no adapter for {', '.join(missing)}: they use the base model "
            "(train with `crisis-mas adapters train --expert NAME`)"
        )

    # Replica processes inherit the driver's environment: keep vLLM and every Ray listener on
    # loopback (service/network.py), and everything this server writes private to the user.
    from crisis_mas.service.network import use_private_ray_env

    use_private_ray_env()
    os.umask(0o077)
    import ray
    from ray import serve as ray_serve

    from crisis_mas.service.app import build_app_from_config

    previous = signal.signal(signal.SIGTERM, _raise_stop)
    started = False
    try:
        ray.init(
            num_cpus=num_cpus if num_cpus is not None else os.cpu_count(),
            include_dashboard=False,  # node IP 127.0.0.1 comes from use_private_ray_env()
            namespace="crisis-mas",
            log_to_driver=verbose,
            logging_level="INFO" if verbose else "WARNING",
        )
        started = True
        # After ray.init: Ray installs its own SIGTERM handler (it dies without cleanup).
        signal.signal(signal.SIGTERM, _raise_stop)
        need, have = app_cfg.resources_needed(), ray.cluster_resources()
        for res in ("CPU", "GPU"):
            if need[res] > have.get(res, 0.0) + 1e-9:
                raise InputError(
                    f"the replicas need {need[res]:g} {res} but Ray has {have.get(res, 0):g}: "
                    f"lower model_pool/ingress num_{res.lower()}s or replicas"
                    + (", or raise --num-cpus" if res == "CPU" else "")
                )
        ray_serve.start(http_options={"host": host, "port": port})
        ray_serve._run(
            build_app_from_config(app_cfg), _blocking=False, name=app_cfg.name, route_prefix="/"
        )
        with err_console.status("starting the model pool and the API ..."):
            _wait_running(app_cfg.name, start_timeout)
        _warn_exposed(host, port)
        err_console.print(
            f"[bold green]serving[/] on http://{host}:{port}  (API docs: /docs; Ctrl-C to stop)"
        )
        while True:
            time.sleep(1.0)
    except (KeyboardInterrupt, _Stop):
        err_console.print("stopping ...")
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut cleanup short
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if started:
            try:
                ray_serve.shutdown()
            finally:
                ray.shutdown()
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, signal.default_int_handler)
    err_console.print("stopped")


def main() -> None:
    """`python -m crisis_mas.cli.serve` (before the command is wired into `crisis-mas`)."""
    typer.run(serve)


if __name__ == "__main__":
    main()
