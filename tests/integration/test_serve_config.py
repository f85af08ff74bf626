"""Serve configuration and builders without starting Ray or a GPU: the deploy files, the options
they turn into, tensor-parallel placement, security helpers, and `crisis-mas serve` refusals."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import yaml
from clirun import REPO, run_cli

from crisis_mas.config import load_config
from crisis_mas.errors import InputError
from crisis_mas.pool.backends.vllm import VLLMPool
from crisis_mas.pool.backends.vllm_async import engine_kwargs
from crisis_mas.pool.types import AdapterRef
from crisis_mas.service.app import build_app, build_app_from_config
from crisis_mas.service.config import (
    IMPORT_PATH,
    ServeAppConfig,
    load_serve_file,
    parse_serve_config,
)
from crisis_mas.service.security import RateLimiter, check_bind, is_loopback

GPU = REPO / "deploy" / "llama31-8b-gpu.yaml"
CPU = REPO / "deploy" / "serve-embedded-cpu.yaml"


@pytest.mark.parametrize("path", [CPU, GPU])
def test_deploy_files_are_valid_for_ray_and_for_crisis_mas(path: Path) -> None:
    from ray.serve.schema import ServeDeploySchema

    data = yaml.safe_load(path.read_text())
    schema = ServeDeploySchema.model_validate(data)  # what `serve run` / `serve deploy` check
    assert schema.applications[0].import_path == IMPORT_PATH
    found = load_serve_file(path)
    # the top-level `crisis_mas:` (read by `crisis-mas run --config`) is the app's config
    assert found.app.crisis_mas == load_config(path)
    assert found.port == 8000
    assert isinstance(build_app(schema.applications[0].args), object)


def test_gpu_app_builds_without_gpus() -> None:
    found = load_serve_file(GPU)
    assert found.host == "0.0.0.0"
    cfg = found.app
    model = cfg.crisis_mas.model
    assert model.base == "meta-llama/Llama-3.1-8B-Instruct" and model.device == "cuda"
    assert sorted(model.adapters) == ["fire", "medical", "police"]
    app = build_app_from_config(cfg)
    ingress = app._bound_deployment
    pool = ingress.init_args[0]._bound_deployment
    assert (ingress.name, pool.name) == ("ApiIngress", "ModelPool")
    assert pool.ray_actor_options["num_gpus"] == 1
    auto = pool._deployment_config.autoscaling_config
    assert (auto.min_replicas, auto.max_replicas, auto.target_ongoing_requests) == (1, 4, 16)
    assert pool._deployment_config.max_ongoing_requests == 128
    assert pool.init_args[1] is None  # one GPU: vLLM's in-process executor
    # the engine the replica would start: LoRA slots, KV cache from GPU memory, CUDA graphs
    refs = [AdapterRef(name=e, id=i, path=p) for i, (e, p) in enumerate(model.adapters.items(), 1)]
    kw = engine_kwargs(model, refs)
    assert kw == VLLMPool(model, refs).engine_kwargs()
    assert kw["enable_lora"] and kw["max_loras"] == 4 and kw["max_lora_rank"] == 16
    assert kw["gpu_memory_utilization"] == 0.9 and "kv_cache_memory_bytes" not in kw
    assert kw["enforce_eager"] is False and kw["tensor_parallel_size"] == 1


def test_tensor_parallel_replica_reserves_one_gpu_bundle_per_shard() -> None:
    data = yaml.safe_load(GPU.read_text())
    args = data["applications"][0]["args"]
    args["crisis_mas"]["model"]["tensor_parallel_size"] = 2
    with pytest.raises(InputError, match="model_pool.num_gpus"):
        parse_serve_config(args)
    args["model_pool"]["num_gpus"] = 2
    cfg = parse_serve_config(args)
    opts = cfg.model_pool_options()
    assert opts["placement_group_bundles"] == [{"CPU": 4.0, "GPU": 1}, {"GPU": 1}]
    assert opts["placement_group_strategy"] == "STRICT_PACK"
    assert "num_gpus" not in opts["ray_actor_options"]
    pool = build_app_from_config(cfg)._bound_deployment.init_args[0]._bound_deployment
    assert pool.init_args[1] == "ray"  # vLLM's Ray executor uses the replica's bundles


def test_fixed_replicas_and_fractional_cpus() -> None:
    cfg = parse_serve_config(
        {"model_pool": {"num_replicas": 2, "num_cpus": 0.5}, "ingress": {"num_cpus": 0.25}}
    )
    opts = cfg.model_pool_options()
    assert opts["num_replicas"] == 2 and opts["ray_actor_options"] == {"num_cpus": 0.5}
    assert cfg.resources_needed() == {"CPU": 1.25, "GPU": 0.0}
    assert ServeAppConfig().ingress.num_cpus == 0.25  # never a whole CPU by default


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        ({"model_pool": {"num_cpus": -1}}, "model_pool.num_cpus"),
        ({"model_pool": {"autoscaling": {"min_replicas": 3, "max_replicas": 2}}}, "min_replicas"),
        ({"api": {"rate_limit": {"burst": 0}}}, "api.rate_limit.burst"),
        ({"crisis_mas": {"model": {"backend": "openai"}}}, "backend"),
        ({"crisis_mas": {"model": {"dtype": "int3"}}}, "crisis_mas.model.dtype"),
        ({"replicas": 2}, "replicas"),
        ("nope", "expected a mapping"),
    ],
)
def test_bad_serve_config_names_the_field(args: object, needle: str) -> None:
    with pytest.raises(InputError, match=needle.replace(".", r"\.")):
        parse_serve_config(args)


def test_serve_file_kinds(tmp_path: Path) -> None:
    plain = load_serve_file(REPO / "configs" / "embedded-cpu.yaml")  # a plain AppConfig
    assert plain.app.crisis_mas == load_config(REPO / "configs" / "embedded-cpu.yaml")
    bare = tmp_path / "bare.yaml"
    bare.write_text("model_pool: {num_replicas: 2, num_cpus: 0.5}\n")
    assert load_serve_file(bare).app.model_pool.num_replicas == 2
    other = tmp_path / "other.yaml"
    other.write_text("applications: [{name: x, import_path: other.module:app}]\n")
    with pytest.raises(InputError, match="no application with import_path"):
        load_serve_file(other)
    with pytest.raises(InputError, match="not found"):
        load_serve_file(tmp_path / "missing.yaml")


def test_loopback_and_bind_rules() -> None:
    for host in ("127.0.0.1", "127.1.2.3", "::1", "localhost", "[::1]"):
        assert is_loopback(host), host
    for host in ("0.0.0.0", "192.168.1.5", "::", "example.org"):
        assert not is_loopback(host), host
    check_bind("127.0.0.1", None)
    check_bind("0.0.0.0", "token")
    with pytest.raises(InputError, match="CRISIS_MAS_API_TOKEN"):
        check_bind("0.0.0.0", None)


def test_rate_limiter_token_bucket() -> None:
    rl = RateLimiter(per_minute=60, burst=2)
    assert rl.hit("a", now=0.0) is None and rl.hit("a", now=0.0) is None
    wait = rl.hit("a", now=0.0)
    assert wait == pytest.approx(1.0)
    assert rl.hit("b", now=0.0) is None  # per client
    assert rl.hit("a", now=1.01) is None  # refilled one token per second


def test_serve_refuses_public_address_without_token() -> None:
    r = run_cli("serve", "--host", "0.0.0.0", "--port", "8799", timeout=60)
    assert r.returncode == 2
    assert "CRISIS_MAS_API_TOKEN" in r.stderr and "Traceback" not in r.stderr


def test_serve_refuses_a_port_in_use_and_bad_config(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        r = run_cli("serve", "--port", str(s.getsockname()[1]), timeout=60)
    assert r.returncode == 2 and "cannot listen" in r.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("model_pool: {num_replicas: zero}\n")
    r = run_cli("serve", "--config", str(bad), timeout=60)
    assert r.returncode == 2 and "model_pool.num_replicas" in r.stderr


def test_listener_scan_finds_what_is_exposed() -> None:
    """The helper the socket test and `crisis-mas serve`'s own check use: listening TCP and
    bound UDP sockets of a process tree, loopback told apart (IPv4-mapped IPv6 included)."""
    import os

    from crisis_mas.service.network import Listener, exposed, listeners

    with socket.socket() as tcp, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        tcp.bind(("127.0.0.1", 0))
        tcp.listen()
        udp.bind(("0.0.0.0", 0))
        found = listeners(os.getpid())
        ports = {(lis.kind, lis.address, lis.port) for lis in found}
        assert ("tcp", "127.0.0.1", tcp.getsockname()[1]) in ports
        assert ("udp", "0.0.0.0", udp.getsockname()[1]) in ports
        assert [lis.port for lis in exposed(os.getpid())] == [udp.getsockname()[1]]
        assert exposed(os.getpid(), {("0.0.0.0", udp.getsockname()[1])}) == []
    assert Listener(1, "x", "tcp", "::ffff:127.0.0.1", 1).loopback
    assert not Listener(1, "x", "tcp", "::", 1).loopback
    assert not Listener(1, "x", "tcp", "192.0.2.2", 1).loopback
