"""Keep every listener of a `crisis-mas serve` process and its private Ray on loopback.

Ray's control plane has no authorisation beyond its cluster token: whoever reaches its ports can
run code in it. Measured on Ray 2.60 (docs/serving.md, "Network exposure"):

- `ray.init(_node_ip_address="127.0.0.1")` does not keep Ray local: `resolve_ip_for_localhost`
  swaps a loopback address for the machine's external one, so the dashboard and runtime-env
  agents listen there and the GCS, raylet and workers on all interfaces. With
  `RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0` Ray treats the node as a single-machine cluster and its
  node IP is 127.0.0.1: GCS, raylet, object manager, agents and workers then bind to loopback.
- Serve replicas open an inter-deployment gRPC server on `[::]:0` whatever the node IP;
  `pin_replica_grpc()` (called in each replica's constructor, before Serve starts that server)
  binds it to the node IP instead: loopback here, the node's own address in a real cluster.
- vLLM binds to `VLLM_HOST_IP`; the Serve gRPC proxy stays off (no gRPC options are given).
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from typing import Any

LOOPBACK = "127.0.0.1"

# Environment of a private, loopback-only Ray (read by Ray and vLLM, inherited by every
# process they start).
PRIVATE_RAY_ENV = {
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",  # node IP = 127.0.0.1 (services.get_node_ip_address)
    "VLLM_HOST_IP": LOOPBACK,
    "RAY_USAGE_STATS_ENABLED": "0",
}


def use_private_ray_env() -> None:
    """Set the loopback-only Ray environment; call before Ray starts (and ideally before it is
    imported: the cluster flag is read at import, and patched here if Ray is already loaded)."""
    for key, value in PRIVATE_RAY_ENV.items():
        os.environ[key] = value
    import sys

    constants = sys.modules.get("ray._private.ray_constants")
    if constants is not None:
        constants.ENABLE_RAY_CLUSTER = False


def pin_replica_grpc() -> None:
    """Bind this Serve replica's inter-deployment gRPC server to the node IP, not `[::]`."""
    try:
        import ray
        from ray.serve._private import replica
    except ImportError:
        return
    if getattr(replica, "_crisis_mas_pinned", False):
        return
    node_ip = ray.util.get_node_ip_address() or LOOPBACK
    host = f"[{node_ip}]" if ":" in node_ip else node_ip
    original = replica.add_port_to_grpc_server

    def add_port(server: Any, address: str) -> int:
        if address.startswith("[::]:"):
            address = f"{host}:{address.rsplit(':', 1)[1]}"
        return original(server, address)

    replica.add_port_to_grpc_server = add_port
    replica._crisis_mas_pinned = True  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Listener:
    pid: int
    name: str
    kind: str  # "tcp" (listening) or "udp" (bound)
    address: str
    port: int

    @property
    def loopback(self) -> bool:
        addr = self.address.removeprefix("::ffff:")  # IPv4-mapped IPv6
        try:
            return ipaddress.ip_address(addr).is_loopback
        except ValueError:
            return False

    def __str__(self) -> str:
        return f"{self.name}[{self.pid}] {self.kind} {self.address}:{self.port}"


def listeners(root_pid: int) -> list[Listener]:
    """Listening TCP and bound UDP sockets of `root_pid` and all its descendants (psutil)."""
    import socket

    import psutil

    try:
        root = psutil.Process(root_pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []
    out = []
    for proc in procs:
        try:
            name = proc.name()
            conns = proc.net_connections(kind="inet")
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
        for c in conns:
            tcp = c.type == socket.SOCK_STREAM
            if (tcp and c.status != psutil.CONN_LISTEN) or (not tcp and c.raddr):
                continue  # outgoing or accepted TCP, connected UDP: not a listener
            if c.laddr:
                out.append(Listener(proc.pid, name, "tcp" if tcp else "udp", *c.laddr))
    return out


def exposed(root_pid: int, allowed: set[tuple[str, int]] | None = None) -> list[Listener]:
    """Listeners beyond loopback, except `(address, port)` pairs the operator asked for."""
    allowed = allowed or set()
    return [
        lis
        for lis in listeners(root_pid)
        if not lis.loopback and (lis.address, lis.port) not in allowed
    ]
