"""Events: rules (20181201) and delivery of matching events to functions.

A rule's condition is OCI's JSON filter: each key in the condition must match the event;
a list matches any of its values, `*` is a wildcard inside strings, objects nest (so
`{"data": {"additionalDetails": {"bucketName": ["b"]}}}` filters on the bucket), and `{}`
matches every event. A matching rule's FAAS actions invoke their function with the event
as body and `Fn-Intent: cloudevent`. A failed invoke is retried with growing delays; when
the retries run out the delivery is kept as FAILED, listable by the user. Deliveries are
stored, so pending ones resume after a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fastfn.localcloud.oci.core.context import CloudContext
from fastfn.localcloud.oci.core.errors import OCIError, invalid, missing, not_found
from fastfn.localcloud.oci.core.ids import now, ocid, rfc3339
from fastfn.localcloud.oci.core.invoke import InvokeFailure, Invoker
from fastfn.localcloud.oci.core.listing import drop_none, filter_by, paginated, summary
from fastfn.localcloud.oci.core.store import Store
from fastfn.localcloud.oci.core.wire import (
    empty_response,
    json_response,
    parse_body,
)
from fastfn.localcloud.oci.events.models import (
    DEFAULT_RETRY_DELAYS,
    DELIVERED,
    DELIVERY,
    FAILED,
    PENDING,
    RULE,
    ActionDetailsList,
    CreateRuleDetails,
    UpdateRuleDetails,
    _action_doc,
    deliveries,
    matches,
    outcome,
    parse_condition,
)

log = logging.getLogger("fastfn.localcloud.oci.events")


class Events:
    def __init__(self, ctx: CloudContext, functions: Invoker,
                 retry_delays: tuple[float, ...] | None = None) -> None:
        self.ctx = ctx
        self.functions = functions
        self.retry_delays = DEFAULT_RETRY_DELAYS if retry_delays is None else retry_delays
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        ctx.event_sinks.append(self.publish)

    @property
    def store(self) -> Store:
        return self.ctx.store

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        for delivery in self.store.find(DELIVERY):
            if delivery["state"] == PENDING:
                self._schedule(delivery)

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- rules API -----------------------------------------------------------------------

    def _rule(self, rule_id: str) -> dict[str, Any]:
        rule = self.store.get(RULE, rule_id)
        if rule is None:
            raise not_found("rule")
        return rule

    def _check_actions(self, actions: ActionDetailsList) -> None:
        for action in actions.actions:
            if action.action_type == "FAAS" and not action.function_id:
                raise missing("actions.functionId")

    async def create_rule(self, request: Request) -> Response:
        details = await parse_body(request, CreateRuleDetails)
        parse_condition(details.condition)
        self._check_actions(details.actions)
        if not self.ctx.compartment_exists(details.compartment_id):
            raise OCIError(400, "RelatedResourceNotAuthorizedOrNotFound",
                           f"Compartment {details.compartment_id} not found.")
        region = self.ctx.identity.region
        rule = {
            "id": ocid("eventrule", region), "displayName": details.display_name,
            "description": details.description, "lifecycleState": "ACTIVE",
            "condition": details.condition, "compartmentId": details.compartment_id,
            "isEnabled": details.is_enabled,
            "actions": {"actions": [_action_doc(a, region) for a in details.actions.actions]},
            "freeformTags": details.freeform_tags or {},
            "definedTags": details.defined_tags or {}, "timeCreated": rfc3339(now()),
        }
        self.store.put(RULE, rule["id"], rule, parent=details.compartment_id,
                       name=details.display_name)
        return json_response(request, drop_none(rule), headers={"etag": rule["timeCreated"]})

    async def get_rule(self, request: Request) -> Response:
        rule = self._rule(request.path_params["id"])
        return json_response(request, drop_none(rule))

    async def list_rules(self, request: Request) -> Response:
        q = request.query_params
        compartment = q.get("compartmentId")
        if not compartment:
            raise missing("compartmentId")
        rules = self.store.find(RULE, parent=compartment)
        rules = filter_by(rules, q, {"displayName": "displayName",
                                     "lifecycleState": "lifecycleState"})
        by = {"TIME_CREATED": "timeCreated", "ID": "id",
              "DISPLAY_NAME": "displayName"}.get(q.get("sortBy", "TIME_CREATED"))
        if by is None:
            raise invalid("sortBy must be TIME_CREATED, ID or DISPLAY_NAME.")
        rules.sort(key=lambda r: r[by], reverse=q.get("sortOrder", "DESC") == "DESC")
        keys = ("id", "displayName", "description", "lifecycleState", "condition",
                   "compartmentId", "isEnabled", "timeCreated", "freeformTags", "definedTags")
        return paginated(request, [summary(r, keys) for r in rules])

    async def update_rule(self, request: Request) -> Response:
        details = await parse_body(request, UpdateRuleDetails)
        if details.condition is not None:
            parse_condition(details.condition)
        if details.actions is not None:
            self._check_actions(details.actions)
        with self.store.transaction() as store:
            rule = self._rule(request.path_params["id"])
            changes = details.model_dump(mode="json", by_alias=True, exclude_none=True,
                                         exclude={"actions"})
            rule.update(changes)
            if details.actions is not None:
                region = self.ctx.identity.region
                rule["actions"] = {"actions": [_action_doc(a, region)
                                               for a in details.actions.actions]}
            store.put(RULE, rule["id"], rule, parent=rule["compartmentId"],
                      name=rule["displayName"])
        return json_response(request, drop_none(rule))

    async def delete_rule(self, request: Request) -> Response:
        rule = self._rule(request.path_params["id"])
        self.store.delete(RULE, rule["id"])
        return empty_response(request, 204)

    async def list_deliveries(self, request: Request) -> Response:
        state = request.query_params.get("state")
        return paginated(request, self.deliveries(state))

    def deliveries(self, state: str | None = None) -> list[dict[str, Any]]:
        return deliveries(self.store, state)

    # -- delivery ------------------------------------------------------------------------

    def publish(self, event: dict[str, Any]) -> None:
        """Called by the services on the server's loop when something happens, inside the
        store transaction that makes it happen: the change and its deliveries commit
        together."""
        for rule in self.store.find(RULE):
            if not rule["isEnabled"] or rule["lifecycleState"] != "ACTIVE":
                continue
            if event.get("extensions", {}).get("compartmentId") != rule["compartmentId"]:
                continue
            try:
                condition = json.loads(rule["condition"])
            except ValueError:
                continue
            if not matches(condition, event):
                continue
            for action in rule["actions"]["actions"]:
                if action.get("isEnabled", True):
                    self._new_delivery(rule, action, event)

    def _new_delivery(self, rule: dict[str, Any], action: dict[str, Any],
                      event: dict[str, Any]) -> None:
        stamp = rfc3339(now())
        delivery = {
            "id": str(uuid.uuid4()), "ruleId": rule["id"], "actionId": action["id"],
            "actionType": action["actionType"], "functionId": action.get("functionId"),
            "eventId": event["eventID"], "eventType": event["eventType"],
            "resourceName": (event.get("data") or {}).get("resourceName"),
            "state": PENDING, "attempts": 0, "lastError": None,
            "timeCreated": stamp, "timeUpdated": stamp, "event": event,
        }
        if action["actionType"] != "FAAS":
            delivery.update(state=FAILED, lastError=f"{action['actionType']} actions are not "
                            "delivered by the local cloud")
        self.store.put(DELIVERY, delivery["id"], delivery, parent=rule["id"], name=stamp)
        if delivery["state"] == PENDING:
            # Delivered once the write that published it has committed; a write rolled
            # back takes its delivery records with it.
            self.store.after_commit(lambda: self._schedule(delivery))

    def _schedule(self, delivery: dict[str, Any]) -> None:
        loop = self._loop or asyncio.get_running_loop()
        task = loop.create_task(self._deliver(delivery))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, delivery: dict[str, Any]) -> None:
        body = json.dumps(delivery["event"]).encode()
        headers = [("Fn-Intent", "cloudevent"), ("Fn-Invoke-Type", "sync"),
                   ("Content-Type", "application/json")]
        attempts_allowed = 1 + len(self.retry_delays)
        while delivery["attempts"] < attempts_allowed:
            if delivery["attempts"] > 0:
                await asyncio.sleep(self.retry_delays[delivery["attempts"] - 1])
            if self.store.get(RULE, delivery["ruleId"]) is None:
                self._finish(delivery, FAILED, "the rule was deleted")
                return
            delivery["attempts"] += 1
            try:
                response = await self.functions.run(delivery["functionId"], body, headers)
            except InvokeFailure as exc:
                delivery["lastError"] = f"{exc.status} {exc.code}: {exc.message}"
                delivery.update(outerStatus=exc.status, appStatus=None,
                                errorCategory=exc.code, callId=None)
            except asyncio.CancelledError:
                self._save(delivery)  # stays PENDING: resumed on the next start
                raise
            except Exception as exc:  # a bug must not lose the delivery record
                log.exception("event delivery error")
                delivery["lastError"] = f"{type(exc).__name__}: {exc}"
            else:
                delivery.update(outcome(response))
                self._finish(delivery, DELIVERED, delivery.get("appError"))
                return
            log.warning("event delivery failed", extra={
                "delivery": delivery["id"], "function_id": delivery["functionId"],
                "attempt": delivery["attempts"], "error": delivery["lastError"]})
            self._save(delivery)
        self._finish(delivery, FAILED, delivery["lastError"])

    def _finish(self, delivery: dict[str, Any], state: str, error: str | None) -> None:
        delivery["state"] = state
        delivery["lastError"] = error
        self._save(delivery)
        log.info("event delivery finished", extra={"delivery": delivery["id"], "state": state,
                                                   "attempts": delivery["attempts"]})

    def _save(self, delivery: dict[str, Any]) -> None:
        delivery["timeUpdated"] = rfc3339(now())
        with contextlib.suppress(Exception):  # the store may be closing at shutdown
            self.store.put(DELIVERY, delivery["id"], delivery, parent=delivery["ruleId"],
                           name=delivery["timeCreated"])

    def routes(self) -> list[Route]:
        base = "/20181201/rules"
        return [
            Route(base, self.create_rule, methods=["POST"]),
            Route(base, self.list_rules, methods=["GET"]),
            Route(base + "/{id}", self.get_rule, methods=["GET"]),
            Route(base + "/{id}", self.update_rule, methods=["PUT"]),
            Route(base + "/{id}", self.delete_rule, methods=["DELETE"]),
            Route("/_fastfn/events/deliveries", self.list_deliveries, methods=["GET"]),
        ]


