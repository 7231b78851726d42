"""Event sources, registered by the name a user types after ``--format``.

=============  =========================================================================
name           records
=============  =========================================================================
jsonl          onelane's own normalised events (``Event.to_dict()`` per line)
ocsf           OCSF events (``class_uid``, ``time`` in epoch milliseconds, ...)
cloudtrail     AWS CloudTrail (S3 delivery ``Records``, Lake, EventBridge ``detail``)
k8s-audit      Kubernetes audit ``audit.k8s.io`` events (EKS, AKS, self-managed)
entra-signin   Microsoft Entra sign-in logs (Graph, diagnostic export, Log Analytics)
entra-audit    Microsoft Entra audit logs (Graph, diagnostic export, Log Analytics)
okta           Okta System Log
github         GitHub audit log (streaming / REST export)
=============  =========================================================================

Importing this package registers every source; ``detect`` is tried in the order above
(each source's ``detect_order``) for ``--format auto``.
"""

from onelane.events.sources import cloudtrail, entra, github, jsonl, k8s_audit, ocsf, okta
from onelane.events.sources._base import (
    EventSource,
    detect_source,
    get_source,
    register,
    source_names,
)

__all__ = [
    "EventSource",
    "cloudtrail",
    "detect_source",
    "entra",
    "get_source",
    "github",
    "jsonl",
    "k8s_audit",
    "ocsf",
    "okta",
    "register",
    "source_names",
]
