"""Events operations -> permissions (Oracle's "Details for the Events Service":
cloudevents-rules, EVENTRULE_LIST/READ/CREATE/MODIFY/DELETE). Denials are 404
NotAuthorizedOrNotFound. The local-only deliveries listing (`fastfn cloud events`) counts
as reading rules in the tenancy.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from fastfn.localcloud.oci.core.authz import Rule, Target, in_body, in_query, stored
from fastfn.localcloud.oci.events.models import RULE

R = "/20181201/rules"


async def _tenancy(service: Any, request: Request) -> Target | None:
    return Target(service.ctx.identity.tenancy_id)


_rule = stored(RULE)

RULES: dict[str, Rule] = {
    f"POST {R}": Rule("CreateRule", "cloudevents-rules", ("EVENTRULE_CREATE",), in_body()),
    f"GET {R}": Rule("ListRules", "cloudevents-rules", ("EVENTRULE_LIST",), in_query()),
    f"GET {R}/{{id}}": Rule("GetRule", "cloudevents-rules", ("EVENTRULE_READ",), _rule),
    f"PUT {R}/{{id}}": Rule("UpdateRule", "cloudevents-rules", ("EVENTRULE_MODIFY",), _rule),
    f"DELETE {R}/{{id}}": Rule("DeleteRule", "cloudevents-rules", ("EVENTRULE_DELETE",),
                               _rule),
    "GET /_fastfn/events/deliveries": Rule("ListEventDeliveries", "cloudevents-rules",
                                           ("EVENTRULE_READ",), _tenancy),
}
