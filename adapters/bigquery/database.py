"""The BigQuery database: a client, its settings and the runner that sends every statement."""

from __future__ import annotations

from typing import TYPE_CHECKING

from adapters.bigquery.client import BigQuerySettings, create_bigquery_client
from adapters.bigquery.querying import Runner
from adapters.bigquery.schema import dataset_ref, ensure_schema

if TYPE_CHECKING:
    from google.cloud import bigquery


class BigQueryDatabase:
    """A client, its settings and the runner: shared by every unit of work on one dataset. It is the
    backend's key, so units of work of any contexts on one database join one transaction."""

    def __init__(self, client: bigquery.Client, settings: BigQuerySettings, *, runner: Runner | None = None) -> None:
        self.client = client
        self.settings = settings
        self.runner = runner if runner is not None else Runner(client, settings)
        dataset_ref(settings)  # fail now on a bad project or dataset name

    @classmethod
    def connect(cls, settings: BigQuerySettings) -> BigQueryDatabase:
        return cls(create_bigquery_client(settings), settings)

    def ensure_schema(self) -> None:
        ensure_schema(self.client, self.settings)
