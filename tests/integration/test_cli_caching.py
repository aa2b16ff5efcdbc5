"""`portside demo --context caching` on the memory tier alone and on the three tiers together."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from application.cli import main
from tests.servers import RedisServer


def test_the_caching_demo_on_memory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["--database-url", "memory://", "demo", "--context", "caching"]) == 0
    out = capsys.readouterr().out
    assert "caching: tiers memory" in out
    assert "the loader ran 1 time(s)" in out
    assert "job 0 is now 'running' in the cache" in out
    assert "hit ratio" in out and "refused: ValidationError: ttl" in out


@pytest.mark.redis
def test_the_caching_demo_on_three_tiers(redis_server: RedisServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PORTSIDE_REDIS_URL", redis_server.url)
    monkeypatch.setenv("PORTSIDE_CACHE_TIERS", "memory,redis,sql")
    monkeypatch.setenv("PORTSIDE_CACHE_KEY_PREFIX", "cli-demo")
    for _ in range(2):  # and again on the same file and Redis
        assert main(["demo", "--context", "caching"]) == 0
    out = capsys.readouterr().out
    assert "caching: tiers memory -> redis -> sql" in out
    assert "cache:redis: reachable" in out and "cache:sql: reachable" in out
    assert "| l3" in out
    client = redis.Redis.from_url(redis_server.url)
    leftovers = list(client.scan_iter(match="cli-demo*"))
    if leftovers:
        client.unlink(*leftovers)
    client.close()


@pytest.mark.parametrize(("variable", "value"), [
    ("PORTSIDE_CACHE_KEY_PREFIX", "has spaces*"),
    ("PORTSIDE_CACHE_DEFAULT_TTL", "-3"),
    ("PORTSIDE_CACHE_TIERS", "memcached"),
])
def test_bad_cache_settings_are_one_line_and_exit_2(variable: str, value: str, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(variable, value)
    assert main(["--database-url", "memory://", "demo", "--context", "caching"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and ("cache" in err[0].lower()), err
