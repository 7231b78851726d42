"""A streaming Sigma engine: SigmaHQ-format rules compiled to Python predicates over raw records.

ruleset = load_rules(["rules/"])          # every error collected in ruleset.errors
engine = Engine(ruleset)                  # compile; engine.errors lists rules it skipped
for m in engine.match(record, ("aws", "cloudtrail")):
    print(m.rule_id, m.title, m.level, m.attack)
correlator = Correlator(ruleset, engine)  # event_count, value_count, temporal(_ordered)
alerts = correlator.observe(record, ("aws", "cloudtrail"), ts, event_id)
"""

from onelane.detect.sigma.correlate import CorrelationMatch, Correlator
from onelane.detect.sigma.engine import CompiledRule, Engine, Match, attack_ids, compile_rule
from onelane.detect.sigma.loader import RuleSet, load_rules

__all__ = [
    "CompiledRule",
    "CorrelationMatch",
    "Correlator",
    "Engine",
    "Match",
    "RuleSet",
    "attack_ids",
    "compile_rule",
    "load_rules",
]
