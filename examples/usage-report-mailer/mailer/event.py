"""Phase 1: the Object Storage event, typed.

The real shape (CloudEvents 0.1 names; the bucket is in data.additionalDetails, not in
data as seed 003's sample has it). Only object creation and overwrite are mail-worthy:
any other event type, or a body that is not this shape, is a ParseError.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mailer.errors import ParseError

CREATE = "com.oraclecloud.objectstorage.createobject"
UPDATE = "com.oraclecloud.objectstorage.updateobject"


class _Model(BaseModel):
    # OCI may add fields; unknown ones are ignored rather than refused.
    model_config = ConfigDict(extra="ignore", frozen=True)


class AdditionalDetails(_Model):
    eTag: str = Field(min_length=1, max_length=256, pattern=r"^[A-Za-z0-9._:-]+$")
    namespace: str = Field(min_length=1)
    bucketName: str = Field(min_length=1)
    bucketId: str | None = None
    archivalState: str | None = None


class EventData(_Model):
    compartmentId: str | None = None
    compartmentName: str | None = None
    resourceName: str = Field(min_length=1, max_length=1024)
    resourceId: str | None = None
    availabilityDomain: str | None = None
    additionalDetails: AdditionalDetails


class ObjectEvent(_Model):
    cloudEventsVersion: str
    eventID: str = Field(min_length=1)
    eventType: str
    source: str
    eventTypeVersion: str | None = None
    eventTime: datetime
    contentType: str | None = None
    extensions: dict[str, str] | None = None
    data: EventData

    @property
    def object_name(self) -> str:
        return self.data.resourceName

    @property
    def bucket(self) -> str:
        return self.data.additionalDetails.bucketName

    @property
    def namespace(self) -> str:
        return self.data.additionalDetails.namespace

    @property
    def etag(self) -> str:
        return self.data.additionalDetails.eTag


def parse_event(body: bytes) -> ObjectEvent:
    try:
        event = ObjectEvent.model_validate_json(body)
    except ValidationError as exc:
        where = ", ".join(".".join(map(str, e["loc"])) or "body" for e in exc.errors()[:3])
        raise ParseError(f"not an Object Storage event (invalid: {where})") from None
    if event.eventType not in (CREATE, UPDATE):
        raise ParseError(f"event type {event.eventType!r} is not an object upload")
    return event
