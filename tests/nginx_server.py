"""Run the real nginx on loopback with the shipped proxy config in front of test backends.

The API server's proxying (``deploy/nginx/snippets/lastmile-api.conf``) and its variables
(``snippets/lastmile-maps.conf``) are included unchanged; ``deploy/nginx/upstreams.conf`` is
used with only the backend ports replaced by the test workers'. What differs from the
sample ``lastmile.conf`` is the listener (plain HTTP on a free loopback port, no TLS), the
server name, and one header a test reads: ``X-Lastmile-Upstream``, the worker that answered.
The access log (``access.log`` in the prefix) is in the shipped ``lastmile`` format unless a
test asks for another (``combined``, nginx's default). nginx runs in the foreground
(``daemon off``) with its own prefix, pid file and error log.
"""

import os
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from tests.live_server import free_port

NGINX = "/usr/sbin/nginx"
DEPLOY = Path(__file__).resolve().parent.parent / "deploy" / "nginx"
UPSTREAM_HEADER = "X-Lastmile-Upstream"
# The sample's backend processes, as upstreams.conf lists them.
_SAMPLE_BACKENDS = ("127.0.0.1:8001", "127.0.0.1:8002")
_SAMPLE_APPS = ("127.0.0.1:8551", "127.0.0.1:8552")


def upstreams_for(backend_ports: Sequence[int]) -> str:
    """``upstreams.conf`` with its two backend processes replaced by ``backend_ports`` (a
    third port and more are added next to the second in every group that lists it) and the
    Flet apps by ports where nothing listens."""
    text = (DEPLOY / "upstreams.conf").read_text()
    for sample in (*_SAMPLE_BACKENDS, *_SAMPLE_APPS):
        if sample not in text:
            raise AssertionError(f"upstreams.conf no longer lists {sample}: update the harness")
    first, second, *more = backend_ports
    text = text.replace(_SAMPLE_BACKENDS[0], f"127.0.0.1:{first}")
    for port in more:
        text = _add_server_after(text, second, port)
    text = text.replace(_SAMPLE_BACKENDS[1], f"127.0.0.1:{second}")
    for app in _SAMPLE_APPS:
        text = text.replace(app, f"127.0.0.1:{free_port()}")
    return text


def _add_server_after(text: str, second: int, port: int) -> str:
    lines = []
    for line in text.splitlines():
        lines.append(line)
        if _SAMPLE_BACKENDS[1] in line:
            lines.append(line.replace(_SAMPLE_BACKENDS[1], f"127.0.0.1:{port}"))
    return "\n".join(lines) + "\n"


def nginx_config(
    prefix: Path, port: int, backend_ports: Sequence[int], access_log_format: str = "lastmile"
) -> str:
    temp = "\n".join(
        f"    {kind}_temp_path {prefix / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    # As root, the workers would switch to "nobody", who cannot write the test's directories.
    user = "user root;\n" if os.geteuid() == 0 else ""
    return f"""{user}daemon off;
worker_processes 1;
pid {prefix / "nginx.pid"};
error_log {prefix / "error.log"} warn;
events {{ worker_connections 512; }}
http {{
{temp}
    include upstreams.conf;
    include snippets/lastmile-maps.conf;
    access_log {prefix / "access.log"} {access_log_format};
    server {{
        listen 127.0.0.1:{port};
        server_name lastmile.test;
        add_header {UPSTREAM_HEADER} $upstream_addr always;
        include snippets/lastmile-api.conf;
    }}
}}
"""


@contextmanager
def run_nginx(
    prefix: Path, backend_ports: Sequence[int], access_log_format: str = "lastmile"
) -> Iterator[str]:
    """nginx in front of ``backend_ports`` until the block ends; yields its base URL."""
    prefix.mkdir(parents=True, exist_ok=True)
    (prefix / "snippets").symlink_to(DEPLOY / "snippets", target_is_directory=True)
    (prefix / "upstreams.conf").write_text(upstreams_for(backend_ports))
    port = free_port()
    conf = prefix / "nginx.conf"
    conf.write_text(nginx_config(prefix, port, backend_ports, access_log_format))
    args = [NGINX, "-p", f"{prefix}/", "-c", str(conf), "-e", str(prefix / "error.log")]
    checked = subprocess.run([*args, "-t", "-q"], capture_output=True, text=True)
    if checked.returncode != 0:
        raise RuntimeError(f"nginx refused the config:\n{checked.stderr}")
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 15
        while not _listening(port):
            if process.poll() is not None or time.monotonic() > deadline:
                log = (prefix / "error.log").read_text(errors="replace")
                raise RuntimeError(f"nginx did not start:\n{log}")
            time.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def check_full_config(prefix: Path) -> subprocess.CompletedProcess[str]:
    """``nginx -t`` on the whole shipped ``lastmile.conf`` (every server block, TLS
    included) with ``upstreams.conf``, as Debian's nginx.conf includes them from
    ``conf.d/``; only the certificate paths point at a throwaway self-signed one and the
    access log into ``prefix`` (``nginx -t`` opens it)."""
    prefix.mkdir(parents=True, exist_ok=True)
    (prefix / "snippets").symlink_to(DEPLOY / "snippets", target_is_directory=True)
    cert, key = prefix / "fullchain.pem", prefix / "privkey.pem"
    openssl = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
    subject = ["-subj", "/CN=lastmile.example.com", "-keyout", str(key), "-out", str(cert)]
    subprocess.run([*openssl, *subject], check=True, capture_output=True)
    live = "/etc/letsencrypt/live/lastmile.example.com/"
    site = (DEPLOY / "lastmile.conf").read_text()
    if live not in site:
        raise AssertionError(f"lastmile.conf no longer reads certificates from {live}")
    logs = "/var/log/nginx/"
    if logs not in site:
        raise AssertionError(f"lastmile.conf no longer logs to {logs}")
    (prefix / "lastmile.conf").write_text(
        site.replace(live, f"{prefix}/").replace(logs, f"{prefix}/")
    )
    (prefix / "upstreams.conf").write_text((DEPLOY / "upstreams.conf").read_text())
    temp = "\n".join(
        f"    {kind}_temp_path {prefix / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf = prefix / "nginx.conf"
    conf.write_text(
        f"pid {prefix / 'nginx.pid'};\nevents {{}}\n"
        f"http {{\n{temp}\n    include upstreams.conf;\n    include lastmile.conf;\n}}\n"
    )
    return subprocess.run(
        [NGINX, "-t", "-p", f"{prefix}/", "-c", str(conf), "-e", str(prefix / "error.log")],
        capture_output=True,
        text=True,
    )
