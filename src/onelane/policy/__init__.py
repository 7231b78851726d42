"""One policy model: YAML rules with CEL conditions, decided for every kind of identity.

    policy = load_policy(Path("policies/"))           # parse, type-check, compile once
    pdp = Pdp(policy, InventoryDirectory(db, clock), clock)
    decision = pdp.decide({"subject": {...}, "action": {...}, "resource": {...}})
    decision.effect, decision.reasons, decision.obligations

The flow is loader (files → ``PolicySet``) → index (compiled rules by action and
resource type) → evaluator (enriched subject → ``Decision``) → decision log. See
docs/policy.md for the file format and the decision semantics.
"""

from onelane.policy.decision import Decision, Match, mask, merge_obligations
from onelane.policy.decision_log import BatchedLog, DecisionLog, DirectLog, list_decisions
from onelane.policy.enrich import Directory, Facts, InventoryDirectory, StaticDirectory, build_facts
from onelane.policy.evaluator import Pdp
from onelane.policy.impact import ImpactReport, replay
from onelane.policy.index import CompiledPolicy, check_policy_dir, compile_policy_set, load_policy
from onelane.policy.loader import DEFAULT_BUNDLE, ENV_POLICY, active_policy_dir, load_policy_set
from onelane.policy.model import Effect, Mode, PolicySet, Problem, Rule, parse_duration
from onelane.policy.service import PolicyService
from onelane.policy.testing import TestReport, run_tests

__all__ = [
    "DEFAULT_BUNDLE",
    "ENV_POLICY",
    "BatchedLog",
    "CompiledPolicy",
    "Decision",
    "DecisionLog",
    "DirectLog",
    "Directory",
    "Effect",
    "Facts",
    "ImpactReport",
    "InventoryDirectory",
    "Match",
    "Mode",
    "Pdp",
    "PolicyService",
    "PolicySet",
    "Problem",
    "Rule",
    "StaticDirectory",
    "TestReport",
    "active_policy_dir",
    "build_facts",
    "check_policy_dir",
    "compile_policy_set",
    "list_decisions",
    "load_policy",
    "load_policy_set",
    "mask",
    "merge_obligations",
    "parse_duration",
    "replay",
    "run_tests",
]
