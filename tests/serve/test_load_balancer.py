"""deploy/nginx-fimkit.conf as shipped, in front of two real `fimkit serve` replicas: every user stays on
one replica (its prompts' KV cache is there), users spread over both, streams pass token by token, and
when a replica goes away its users are answered by the other."""

import http.client
import json
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").is_file() else None)
if NGINX is None:  # pragma: no cover - .ci/run installs nginx-light
    pytest.skip("no nginx (apt-get install nginx-light): the load balancer config is not tested", allow_module_level=True)

CONF = Path(__file__).parents[2] / "deploy" / "nginx-fimkit.conf"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(port: int, proc: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited: {proc.stderr.read() if proc.stderr else ''}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on {port}")


@pytest.fixture
def balanced(tiny_fim_gguf, tmp_path):
    ports = [_port(), _port()]
    replicas = [subprocess.Popen([sys.executable, "-m", "fimkit", "serve", "--model", str(tiny_fim_gguf),
                                  "--port", str(p), "--n-ctx", "256", "--no-telemetry", "--min-shown-logprob", "-100"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for p in ports]
    front = _port()
    text = CONF.read_text()
    assert "127.0.0.1:5001" in text and "127.0.0.1:5002" in text and "listen 8080;" in text
    text = (text.replace("127.0.0.1:5001", f"127.0.0.1:{ports[0]}").replace("127.0.0.1:5002", f"127.0.0.1:{ports[1]}")
            .replace("listen 8080;", f"listen 127.0.0.1:{front};"))
    (tmp_path / "fimkit.conf").write_text(text)
    temps = " ".join(f"{k}_temp_path {tmp_path}/{k};" for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    (tmp_path / "nginx.conf").write_text(
        f"daemon off; worker_processes 1; pid {tmp_path}/nginx.pid; error_log {tmp_path}/error.log;\n"
        f"events {{}}\nhttp {{ access_log off; {temps} include {tmp_path}/fimkit.conf; }}\n")
    nginx = subprocess.Popen([NGINX, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        for port, proc in zip(ports, replicas, strict=True):
            _wait(port, proc, "fimkit serve")
        _wait(front, nginx, "nginx")
        yield front, ports, replicas
    finally:
        for proc in (nginx, *replicas):
            proc.terminate()
            proc.wait(timeout=20)


def _ask(front: int, user: str | None, stream: bool = False):
    conn = http.client.HTTPConnection("127.0.0.1", front, timeout=60)
    headers = {"Content-Type": "application/json", **({"X-Fimkit-User": user} if user else {})}
    body = {"prompt": "def add(a, b):\n    return ", "suffix": "\n", "max_tokens": 8, "stream": stream}
    conn.request("POST", "/v1/completions", json.dumps(body), headers)
    resp = conn.getresponse()
    data = resp.read().decode()
    conn.close()
    return resp.status, resp.getheader("X-Fimkit-Replica"), data


def test_each_user_stays_on_one_replica_and_users_spread_over_both(balanced):
    front, ports, _ = balanced
    seen: dict[str, set] = {}
    for _ in range(4):
        for k in range(16):
            status, replica, _ = _ask(front, f"dev{k}@example.com")
            assert status == 200
            seen.setdefault(f"dev{k}", set()).add(replica)
    assert all(len(replicas) == 1 for replicas in seen.values()), seen
    used = {next(iter(r)) for r in seen.values()}
    assert used == {f"127.0.0.1:{p}" for p in ports}  # 16 users hash onto both replicas
    anonymous = {_ask(front, None)[1] for _ in range(4)}
    assert len(anonymous) == 1  # without the header, the address stands for the user


def test_streams_pass_through_and_a_lost_replica_s_users_are_answered_by_the_other(balanced):
    front, ports, replicas = balanced
    status, _, data = _ask(front, "ann", stream=True)
    assert status == 200 and data.count("data: ") >= 2 and data.rstrip().endswith("data: [DONE]")
    homes = {f"dev{k}": _ask(front, f"dev{k}")[1] for k in range(16)}
    replicas[0].terminate()
    replicas[0].wait(timeout=20)
    for user, home in homes.items():
        status, replica, _ = _ask(front, user)
        assert status == 200, (user, status)
        # nginx lists every replica it tried: a lost one's users end on the one still up...
        assert replica.rsplit(", ", 1)[-1] == f"127.0.0.1:{ports[1]}", (user, replica)
        if home == f"127.0.0.1:{ports[1]}":
            assert replica == home  # ...and that one's users do not move
