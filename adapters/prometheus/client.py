"""The HTTP side of Prometheus: remote write and the query API, with bounded retries.

Every request has a connect and a read timeout, and a failing one is retried a bounded number of
times with exponential backoff, so a call never hangs: after the last try a server that is down,
slow or overloaded (5xx, 429) is `StorageUnavailable`. A request Prometheus refuses (4xx) is not
retried: it would be refused again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from adapters.prometheus.wire import CONTENT_ENCODING, CONTENT_TYPE, PROTOCOL_VERSION
from domain.shared.errors import StorageError, StorageUnavailable
from ports.health import HealthReport

if TYPE_CHECKING:
    import httpx


@dataclass(frozen=True, slots=True)
class PrometheusSettings:
    url: str
    """`http://host:9090`, the server's base URL."""
    timeout_seconds: float = 5.0
    connect_timeout_seconds: float = 2.0
    retries: int = 2
    """Tries after the first; with the backoff below, a down server fails a call within seconds."""
    backoff_seconds: float = 0.2


class PrometheusHttp:
    def __init__(self, settings: PrometheusSettings, client: httpx.Client | None = None) -> None:
        import httpx

        self.settings = settings
        self._client = client or httpx.Client(
            base_url=settings.url.rstrip("/"),
            timeout=httpx.Timeout(settings.timeout_seconds, connect=settings.connect_timeout_seconds),
        )

    def close(self) -> None:
        self._client.close()

    def write(self, body: bytes) -> None:
        self._send("POST", "/api/v1/write", content=body, headers={
            "Content-Encoding": CONTENT_ENCODING,
            "Content-Type": CONTENT_TYPE,
            "X-Prometheus-Remote-Write-Version": PROTOCOL_VERSION,
        })

    def query(self, path: str, params: dict[str, str]) -> Any:
        """`data.result` of an API query (`/api/v1/query`, `/api/v1/query_range`)."""
        response = self._send("POST", path, data=params)
        payload = response.json()
        if payload.get("status") != "success":
            raise StorageError(f"prometheus refused the query: {payload.get('error')}")
        return payload["data"]["result"]

    def status(self, what: str) -> dict[str, Any]:
        """`/api/v1/status/<what>`'s data (`buildinfo`, `tsdb`...)."""
        data: dict[str, Any] = self._send("GET", f"/api/v1/status/{what}").json().get("data", {})
        return data

    def _send(self, method: str, path: str, **arguments: Any) -> httpx.Response:
        import httpx

        attempts = self.settings.retries + 1
        for attempt in range(attempts):
            try:
                response = self._client.request(method, path, **arguments)
            except httpx.HTTPError as error:  # refused, reset, timed out
                failure = f"prometheus at {self.settings.url} is unreachable: {error!r}"
            else:
                if response.status_code < 400:
                    return response
                if response.status_code != 429 and response.status_code < 500:
                    raise StorageError(f"prometheus refused {path} ({response.status_code}): "
                                       f"{response.text.strip()[:300]}")
                failure = f"prometheus answered {path} with {response.status_code}: {response.text.strip()[:300]}"
            if attempt + 1 < attempts:
                time.sleep(self.settings.backoff_seconds * 2**attempt)
        raise StorageUnavailable(f"{failure} (after {attempts} tries)")


def check_prometheus(http: PrometheusHttp) -> HealthReport:
    """For `portside doctor`: reachable, and its version."""
    url = http.settings.url
    try:
        info = http.status("buildinfo")
    except (StorageUnavailable, StorageError) as error:
        return HealthReport("prometheus", url, False, str(error))
    return HealthReport("prometheus", url, True, f"Prometheus {info.get('version', '?')}")
