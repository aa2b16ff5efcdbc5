"""The processors Portside ships as examples and for its own tests and demo."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from domain.processing.catalog import BaseProcessor, ProcessorCatalog


def _documents(payload: Mapping[str, Any], kind: str) -> list[Mapping[str, Any]]:
    documents = payload.get("documents", [])
    if not isinstance(documents, list):
        return []
    return [d for d in documents if isinstance(d, Mapping) and d.get("type") == kind]


class BankStatementProcessor(BaseProcessor):
    """Monthly revenues from bank statements; factors are their average and the NSF count."""

    name = "p_bank_statement"
    display_name = "Bank statement analysis"
    CONFIG: ClassVar[Mapping[str, Any]] = {
        "min_months": 3, "currency": "USD", "thresholds": {"nsf": 3, "negative_days": 5},
    }

    @classmethod
    def should_execute(cls, payload: Mapping[str, Any], config: Mapping[str, Any]) -> bool:
        return len(_documents(payload, "bank_statement")) >= 1

    @classmethod
    def consolidate(cls, outputs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        revenues = [float(r) for o in outputs for r in o.get("monthly_revenues", [])]
        nsf = sum(int(o.get("nsf_count", 0)) for o in outputs)
        average = round(sum(revenues) / len(revenues), 2) if revenues else None
        return {"f_avg_revenue": average, "f_months": len(revenues), "f_nsf_count": nsf}


class CreditReportProcessor(BaseProcessor):
    """The owner's credit score: the latest active execution wins."""

    name = "p_credit_report"
    display_name = "Credit report"
    CONFIG: ClassVar[Mapping[str, Any]] = {"bureau": "experian", "min_score": 600}

    @classmethod
    def should_execute(cls, payload: Mapping[str, Any], config: Mapping[str, Any]) -> bool:
        return bool(payload.get("ssn_last4"))

    @classmethod
    def consolidate(cls, outputs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        scores = [o["score"] for o in outputs if "score" in o]
        return {"f_credit_score": scores[-1] if scores else None}


def default_catalog() -> ProcessorCatalog:
    return ProcessorCatalog([BankStatementProcessor, CreditReportProcessor])
