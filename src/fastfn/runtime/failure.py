"""Failing a call on purpose.

An app's own 5xx travels inside an outer 200, which the platform counts as a delivered
call. To have the call count as failed (an outer 502; OCI Events then redelivers the event),
raise CallFailed from the endpoint. The message goes in the 502's JSON body and in one
warning log line, without a traceback: this is a decision, not a crash.
"""

from __future__ import annotations


class CallFailed(Exception):
    pass
