"""A job reaches nothing outside: no network, no host Unix socket, no app files, no server environment, and
nothing it starts outlives it."""

from __future__ import annotations

import os
import socket
import tempfile
import threading
import time
from pathlib import Path

from engines import sandbox
from engines.sandbox import Limits

ROOT = Path(__file__).resolve().parents[3]
FAST = Limits(wall_s=1.0, cpu_s=1.0)
ROOMY = Limits(wall_s=15, cpu_s=15)


def test_no_network_not_even_loopback(mode):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        code = ("import socket\n"
                "try:\n"
                f"    socket.create_connection(('127.0.0.1', {port}), timeout=1)\n"
                "    print('connected')\n"
                "except OSError as exc:\n"
                "    print('blocked', type(exc).__name__)\n")
        r = sandbox.run_python(code, limits=ROOMY)
    assert "blocked" in r.stdout and "connected" not in r.stdout


def _answer(server: socket.socket, answered: list[bool], done: threading.Event) -> None:
    server.settimeout(0.1)
    while not done.is_set():
        try:
            conn, _ = server.accept()
        except TimeoutError:
            continue
        except OSError:
            return
        with conn:
            conn.sendall(b"hello from the host\n")
            answered.append(True)


def test_cannot_connect_to_a_host_unix_socket(mode):
    # regression: under Landlock a job connected to a path-based Unix socket in /tmp, and the host answered
    folder = Path(tempfile.mkdtemp(prefix="wb-sock-", dir="/tmp"))
    folder.chmod(0o755)
    path = folder / "host.sock"
    answered: list[bool] = []
    done = threading.Event()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(str(path))
        path.chmod(0o777)  # any uid may connect: only the sandbox stands in the way
        server.listen()
        thread = threading.Thread(target=_answer, args=(server, answered, done), daemon=True)
        thread.start()
        code = ("import socket\n"
                "try:\n"
                "    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n"
                f"    s.connect({str(path)!r})\n"
                "    print('connected', s.recv(100))\n"
                "except OSError as exc:\n"
                "    print('blocked', type(exc).__name__)\n")
        r = sandbox.run_python(code, limits=ROOMY)
        done.set()
        thread.join(25)
    path.unlink(missing_ok=True)
    folder.rmdir()
    assert "blocked" in r.stdout and "connected" not in r.stdout, r.stdout + r.stderr
    assert not answered


def test_socketpair_still_works(mode):
    r = sandbox.run_python("import socket\na, b = socket.socketpair()\na.sendall(b'x')\nprint(b.recv(1))\n",
                           limits=ROOMY)
    assert r.ok and r.stdout == "b'x'\n", r.stderr


def test_cannot_write_app_directory(mode):
    target = ROOT / f"pwned-{os.getpid()}.txt"
    code = ("try:\n"
            f"    open({str(target)!r}, 'w').write('x')\n"
            "    print('wrote')\n"
            "except OSError as exc:\n"
            "    print('refused', exc.errno)\n")
    r = sandbox.run_python(code, limits=ROOMY)
    assert "refused" in r.stdout
    assert not target.exists()


def test_cannot_read_server_environment(mode, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-sandboxsecret123456")
    monkeypatch.setenv("HF_TOKEN", "hf_sandboxsecret123456")
    code = ("import os\n"
            "print(sorted(os.environ))\n"
            "try:\n"
            f"    print(open('/proc/{os.getpid()}/environ', 'rb').read())\n"
            "except OSError as exc:\n"
            "    print('refused', type(exc).__name__)\n")
    r = sandbox.run_python(code, limits=ROOMY)
    assert "refused" in r.stdout
    assert "sandboxsecret" not in r.stdout + r.stderr
    names = eval(r.stdout.splitlines()[0])  # noqa: S307  (our own program's output)
    assert "OPENAI_API_KEY" not in names and "HF_TOKEN" not in names
    assert set(names) <= {"PATH", "LANG", "HOME", "TMPDIR", "PWD"}


def test_detached_grandchild_gone_when_job_ends(mode, gone):
    marker = f"orphan{os.getpid()}x{time.monotonic_ns()}"
    code = ("import subprocess, sys\n"
            f"subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(1000)', '{marker}'], "
            "start_new_session=True)\nprint('spawned')\n")
    r = sandbox.run_python(code, limits=ROOMY)
    assert r.ok and "spawned" in r.stdout
    assert gone(marker)


def test_detached_grandchild_gone_after_timeout(mode, gone):
    marker = f"orphan{os.getpid()}y{time.monotonic_ns()}"
    code = ("import subprocess, sys, time\n"
            f"subprocess.Popen(['setsid', sys.executable, '-c', 'import time; time.sleep(1000)', '{marker}'])\n"
            "time.sleep(1000)\n")
    r = sandbox.run_python(code, limits=FAST)
    assert r.timed_out
    assert gone(marker)
