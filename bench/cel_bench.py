"""Evaluations per second of typical policy conditions: onelane's compiled CEL vs cel-expr-python.

    .venv/bin/python bench/cel_bench.py [--seconds 0.3]

Each condition is compiled once by both engines and evaluated on the same activation (a
dict, as the decision point builds it). onelane runs untyped (no declarations) and typed
(declared attribute schema); cel-expr-python runs with the dict passed to ``eval`` and
with a pre-built ``Activation``. The ratio compares onelane untyped with the faster of the
two cel-expr-python figures.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from onelane.policy.cel import (
    BOOL,
    INT,
    STRING,
    CelType,
    compile_expression,
    list_of,
    object_type,
)

CONDITIONS = [
    "subject.kind in ['pipeline', 'workload'] && resource.env == 'prod'"
    " && subject.risk < params.machine_max_risk",
    "context.risk < 40 && subject.kind == 'service' && resource.env == 'prod'",
    "'admin' in subject.roles && subject.mfa_age_s < 900 && context.device_trusted",
    "has(subject.delegated_by) && subject.delegated_by == 'alice' && action.sensitivity != 'high'",
    "subject.roles.exists(r, r.startsWith('ops-')) && resource.owner_team == subject.team",
    "context.hour >= 9 && context.hour < 18 && !(resource.classification in ['secret', 'top-secret'])",
    "context.ttl_s <= 3600 || subject.kind == 'human' && context.approved",
]

ACTIVATION: dict[str, Any] = {
    "subject": {
        "kind": "pipeline",
        "risk": 12,
        "roles": ["deployer", "ops-oncall", "admin"],
        "mfa_age_s": 300,
        "team": "payments",
        "delegated_by": "alice",
    },
    "resource": {
        "env": "prod",
        "owner_team": "payments",
        "classification": "internal",
    },
    "action": {"name": "deploy", "sensitivity": "medium"},
    "context": {
        "risk": 20,
        "device_trusted": True,
        "hour": 11,
        "ttl_s": 1800,
        "approved": False,
    },
    "params": {"machine_max_risk": 40},
}

DECLARATIONS: dict[str, CelType] = {
    "subject": object_type(
        "Subject",
        {
            "kind": STRING,
            "risk": INT,
            "roles": list_of(STRING),
            "mfa_age_s": INT,
            "team": STRING,
            "delegated_by": STRING,
        },
    ),
    "resource": object_type("Resource", {"env": STRING, "owner_team": STRING, "classification": STRING}),
    "action": object_type("Action", {"name": STRING, "sensitivity": STRING}),
    "context": object_type(
        "Context",
        {"risk": INT, "device_trusted": BOOL, "hour": INT, "ttl_s": INT, "approved": BOOL},
    ),
    "params": object_type("Params", {"machine_max_risk": INT}),
}


def rate(call: Callable[[], Any], seconds: float) -> float:
    """Calls per second: the median of five timed runs of about ``seconds / 5`` each."""
    number = 1
    while True:
        start = time.perf_counter()
        for _ in range(number):
            call()
        elapsed = time.perf_counter() - start
        if elapsed > 0.02:
            break
        number *= 4
    per_run = max(1, int(number * (seconds / 5) / elapsed))
    rates = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(per_run):
            call()
        rates.append(per_run / (time.perf_counter() - start))
    return statistics.median(rates)


def _eval_dict(expression: Any) -> Any:
    return expression.eval(data=ACTIVATION).value()


def _eval_prebuilt(expression: Any, activation: Any) -> Any:
    return expression.eval(activation).value()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=0.5, help="time per measurement")
    args = parser.parse_args()

    from cel_expr_python import cel  # type: ignore[import-untyped]

    env = cel.NewEnv(variables={name: cel.Type.DYN for name in ACTIVATION})
    prebuilt = env.Activation(ACTIVATION)

    header = f"{'condition':<44} {'onelane':>11} {'typed':>11} {'cel dict':>10} {'cel act':>10} {'ratio':>7}"
    print(header)
    print("-" * len(header))
    ratios = []
    for source in CONDITIONS:
        untyped = compile_expression(source)
        typed = compile_expression(source, DECLARATIONS)
        reference = env.compile(source)
        want = reference.eval(data=ACTIVATION).value()
        assert untyped.evaluate(ACTIVATION) == want == typed.evaluate(ACTIVATION), source

        ours = rate(partial(untyped.evaluate, ACTIVATION), args.seconds)
        ours_typed = rate(partial(typed.evaluate, ACTIVATION), args.seconds)
        theirs_dict = rate(partial(_eval_dict, reference), args.seconds)
        theirs_act = rate(partial(_eval_prebuilt, reference, prebuilt), args.seconds)
        ratio = ours / max(theirs_dict, theirs_act)
        ratios.append(ratio)
        label = source if len(source) <= 44 else source[:41] + "..."
        print(
            f"{label:<44} {ours:>11,.0f} {ours_typed:>11,.0f} {theirs_dict:>10,.0f}"
            f" {theirs_act:>10,.0f} {ratio:>6.1f}x"
        )
    print("-" * len(header))
    print(
        f"evaluations/s; ratio = onelane untyped / best cel-expr-python;"
        f" geometric mean ratio {statistics.geometric_mean(ratios):.1f}x"
    )


if __name__ == "__main__":
    main()
