"""A redis-server this test owns, to kill with SIGKILL and start again on the same port (the
session's shared server is never touched)."""

from __future__ import annotations

import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from tests.servers import LOOPBACK, REDIS_STARTUP_TIMEOUT, _redis_answers_ping, find_redis_server, free_port


class OwnedRedis:
    def __init__(self, port: int | None = None) -> None:
        self.port = port if port is not None else free_port()
        self.root = Path(tempfile.mkdtemp(prefix="portside-redis-owned-"))
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://{LOOPBACK}:{self.port}/0"

    def start(self) -> None:
        log = (self.root / "redis.log").open("ab")
        self._process = subprocess.Popen(
            [str(find_redis_server()), "--port", str(self.port), "--bind", LOOPBACK, "--save", "",
             "--appendonly", "no", "--dir", str(self.root)],
            stdout=log, stderr=subprocess.STDOUT, cwd=self.root,
        )
        deadline = time.monotonic() + REDIS_STARTUP_TIMEOUT
        while not _redis_answers_ping(self.url):
            if time.monotonic() > deadline or self._process.poll() is not None:
                raise RuntimeError(f"redis-server did not start; log in {self.root}")
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: no shutdown, connections reset mid-command."""
        if self._process is not None:
            self._process.send_signal(signal.SIGKILL)
            self._process.wait(10)
            self._process = None

    def stop(self) -> None:
        self.kill()
        shutil.rmtree(self.root, ignore_errors=True)
