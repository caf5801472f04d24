"""SQS batches: one app call per record; failed records are reported by message id in
`batchItemFailures` (the event source mapping needs ReportBatchItemFailures) so only they
return to the queue."""

from __future__ import annotations

SOURCE = "aws:sqs"


def matches(event: object) -> bool:
    records = event.get("Records") if isinstance(event, dict) else None
    return (isinstance(records, list) and bool(records) and isinstance(records[0], dict)
            and records[0].get("eventSource") == SOURCE)


def records(event: dict) -> list[dict]:
    return [r for r in event["Records"] if isinstance(r, dict)]


def batch_result(failed_ids: list[str]) -> dict:
    return {"batchItemFailures": [{"itemIdentifier": i} for i in failed_ids]}
