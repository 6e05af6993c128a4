"""Real servers on localhost for the server-mode tests and the scaling and load benchmarks: a Chroma server (`chroma run`,
shipped with chromadb) and llama-cpp-python's OpenAI-compatible server. Each runs as a child process on a free port,
waits a bounded time to come up (its log is shown if it does not), and is stopped on exit."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from qa_bot.eval.measure import free_port  # the one helper every test that starts a server uses


class ServerProcess:
    """One server child process; ``start`` blocks until ``health_url`` answers 200 or ``startup_s`` runs out."""

    def __init__(self, name: str, command: list[str], health_url: str, log_path: Path, startup_s: float = 90.0,
                 env: dict[str, str] | None = None, cwd: Path | None = None):
        self.name = name
        self.command = command
        self.health_url = health_url
        self.log_path = log_path
        self.startup_s = startup_s
        self.env = {**(os.environ if env is None else env), "ANONYMIZED_TELEMETRY": "False"}
        self.cwd = cwd
        self.process: subprocess.Popen | None = None

    def start(self) -> ServerProcess:
        log = open(self.log_path, "ab")
        # Its own process group, so stopping it also stops anything it spawned.
        self.process = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                        start_new_session=True, env=self.env, cwd=self.cwd)
        log.close()
        deadline = time.monotonic() + self.startup_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with code {self.process.returncode}:\n{self.log_tail()}")
            try:
                if httpx.get(self.health_url, timeout=2.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{self.name} did not answer {self.health_url} within {self.startup_s:.0f} s:\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL, as a crash or an OOM kill would: no chance to flush or shut down cleanly."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"


def chroma_executable() -> str:
    """The `chroma` command installed with chromadb, beside this interpreter (a venv's bin/) or on PATH."""
    beside = Path(sys.executable).with_name("chroma")
    found = str(beside) if beside.exists() else shutil.which("chroma")
    if not found:
        raise RuntimeError("the `chroma` command (installed with chromadb) is not on PATH")
    return found


def chroma_server(data_dir: Path, port: int | None = None, log_dir: Path | None = None) -> ServerProcess:
    port = port or free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    return ServerProcess(
        "chroma run",
        [chroma_executable(), "run", "--path", str(data_dir), "--host", "127.0.0.1", "--port", str(port)],
        f"http://127.0.0.1:{port}/api/v2/heartbeat",
        (log_dir or data_dir.parent) / f"chroma-{port}.log",
        startup_s=60.0,
    )


def llama_server(model: Path, log_dir: Path, port: int | None = None, n_ctx: int = 2048,
                 n_threads: int | None = None) -> ServerProcess:
    port = port or free_port()
    threads = str(n_threads or max(1, os.cpu_count() or 1))
    return ServerProcess(
        "llama_cpp.server",
        [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1", "--port", str(port),
         "--n_ctx", str(n_ctx), "--n_threads", threads, "--n_threads_batch", threads],
        f"http://127.0.0.1:{port}/v1/models",
        log_dir / f"llama-server-{port}.log",
        startup_s=120.0,
    )


def url_of(server: ServerProcess) -> str:
    return server.health_url.split("/api/")[0].split("/v1/")[0]
