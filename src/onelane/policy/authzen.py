"""AuthZEN Authorization API 1.0 shapes: requests in, responses out, batch semantics.

Requests: ``{subject: {type, id, properties?}, action: {name, properties?},
resource: {type, id, properties?}, context?}``. A batch (``/access/v1/evaluations``)
carries ``evaluations: [...]``; its top-level ``subject``, ``action``, ``resource`` and
``context`` are defaults that each item may replace, and ``options.evaluations_semantic``
is ``execute_all`` (the default), ``deny_on_first_deny`` or ``permit_on_first_permit``
(stop after the first deny, or the first permit; the answer lists the decisions made).
A batch without items is answered like a single evaluation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from onelane.errors import InputError
from onelane.policy.decision import Decision

SEMANTICS = ("execute_all", "deny_on_first_deny", "permit_on_first_permit")
PARTS = ("subject", "action", "resource", "context")
EVALUATION_PATH = "/access/v1/evaluation"
EVALUATIONS_PATH = "/access/v1/evaluations"


def check_request(request: Any, *, where: str = "request") -> dict[str, Any]:
    """The request if it has the required shape, else ``InputError`` naming the field."""
    if not isinstance(request, dict):
        raise InputError(f"{where} must be a JSON object")
    for part, keys in (("subject", ("type", "id")), ("action", ("name",)), ("resource", ("type", "id"))):
        value = request.get(part)
        if not isinstance(value, dict):
            raise InputError(f"{where}.{part} is required (an object)", field=part)
        for key in keys:
            if not isinstance(value.get(key), str):
                raise InputError(f"{where}.{part}.{key} is required (a string)", field=f"{part}.{key}")
        props = value.get("properties")
        if props is not None and not isinstance(props, dict):
            raise InputError(f"{where}.{part}.properties must be an object", field=f"{part}.properties")
    context = request.get("context")
    if context is not None and not isinstance(context, dict):
        raise InputError(f"{where}.context must be an object", field="context")
    return request


def batch_items(body: Any) -> tuple[list[dict[str, Any]], str, bool]:
    """The requests of a batch with defaults merged, the semantic, and whether it was a batch."""
    if not isinstance(body, dict):
        raise InputError("the request must be a JSON object")
    options = body.get("options") or {}
    if not isinstance(options, dict):
        raise InputError("options must be an object", field="options")
    semantic = options.get("evaluations_semantic", "execute_all")
    if semantic not in SEMANTICS:
        raise InputError(
            f"options.evaluations_semantic {semantic!r} is not one of: {', '.join(SEMANTICS)}",
            field="options.evaluations_semantic",
        )
    items = body.get("evaluations")
    if items is None or items == []:
        return [check_request({k: body[k] for k in PARTS if k in body})], semantic, False
    if not isinstance(items, list):
        raise InputError("evaluations must be a list", field="evaluations")
    defaults = {k: body[k] for k in PARTS if k in body}
    merged: list[dict[str, Any]] = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise InputError(f"evaluations[{i}] must be an object", field="evaluations")
        merged.append(
            check_request({**defaults, **{k: item[k] for k in PARTS if k in item}}, where=f"evaluations[{i}]")
        )
    return merged, semantic, True


def run_batch(
    requests: list[dict[str, Any]], semantic: str, decide: Callable[[dict[str, Any]], Decision]
) -> list[Decision]:
    """Decide in order, stopping early as the semantic asks."""
    out: list[Decision] = []
    for request in requests:
        decision = decide(request)
        out.append(decision)
        if semantic == "deny_on_first_deny" and not decision.decision:
            break
        if semantic == "permit_on_first_permit" and decision.decision:
            break
    return out


def evaluations_response(decisions: list[Decision]) -> dict[str, Any]:
    return {"evaluations": [d.authzen() for d in decisions]}


def metadata(base_url: str) -> Mapping[str, Any]:
    """PDP metadata for ``/.well-known/authzen-configuration``."""
    base = base_url.rstrip("/")
    return {
        "policy_decision_point": base,
        "access_evaluation_endpoint": base + EVALUATION_PATH,
        "access_evaluations_endpoint": base + EVALUATIONS_PATH,
    }
