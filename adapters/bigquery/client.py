"""The BigQuery client factory: a real project, or an emulator endpoint with anonymous credentials."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ports.health import HealthReport

if TYPE_CHECKING:
    from google.cloud import bigquery


@dataclass(frozen=True, slots=True)
class BigQuerySettings:
    project: str
    dataset: str = "portside"
    endpoint: str | None = None
    """An emulator's address; when set, the client sends anonymous credentials."""
    location: str = "US"
    maximum_bytes_billed: int = 10 * 1024**3
    """Every query job carries this cap, so a runaway query fails instead of billing."""
    timeout_seconds: float = 30.0


def create_bigquery_client(settings: BigQuerySettings) -> bigquery.Client:
    from google.cloud import bigquery

    if settings.endpoint:
        from google.api_core.client_options import ClientOptions
        from google.auth.credentials import AnonymousCredentials

        return bigquery.Client(
            project=settings.project,
            location=settings.location,
            credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
            client_options=ClientOptions(api_endpoint=settings.endpoint),
            default_query_job_config=bigquery.QueryJobConfig(
                maximum_bytes_billed=settings.maximum_bytes_billed
            ),
        )
    return bigquery.Client(
        project=settings.project,
        location=settings.location,
        default_query_job_config=bigquery.QueryJobConfig(
            maximum_bytes_billed=settings.maximum_bytes_billed
        ),
    )


def check_bigquery(client: bigquery.Client, settings: BigQuerySettings) -> HealthReport:
    from google.cloud.bigquery import DEFAULT_RETRY

    target = settings.endpoint or f"project {settings.project}"
    # The client's default retry keeps trying for minutes; a health check must answer promptly.
    retry = DEFAULT_RETRY.with_timeout(settings.timeout_seconds)
    try:
        job = client.query("SELECT 1 AS ok", timeout=settings.timeout_seconds, retry=retry, job_retry=None)
        rows = list(job.result(timeout=settings.timeout_seconds, retry=retry))
    except Exception as error:  # any client, transport or auth failure means "not reachable"
        return HealthReport("bigquery", target, False, f"{type(error).__name__}: {error}")
    return HealthReport("bigquery", target, bool(rows), f"project {settings.project}, query ok")
