"""Each behaviour detector on small synthetic streams, with negatives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from onelane.clock import FixedClock
from onelane.detect.behaviour import AGENT, HUMAN, MACHINE, UNKNOWN, BehaviourAnalytics, BehaviourConfig
from onelane.detect.facts import IdentityFacts
from onelane.detect.models import Alert
from onelane.events.models import Actor, Event

ROLE = "arn:aws:iam::111122223333:role/deploy"
SESSION = "arn:aws:sts::111122223333:assumed-role/deploy/build-7"
CONFIG = BehaviourConfig(warmup_events=20, warmup_days=1.0)


class Stream:
    """Events of one identity on a clock that only moves when told."""

    def __init__(self, analytics: BehaviourAnalytics, clock: FixedClock) -> None:
        self.analytics = analytics
        self.clock = clock
        self.n = 0

    def emit(
        self,
        action: str,
        *,
        kind: str = MACHINE,
        actor: Actor | None = None,
        ip: str | None = "198.51.100.7",
        agent: str = "aws-sdk-go-v2/1.30 os/linux",
        credential: str | None = "ASIAEXAMPLE000000001",
        session: dict[str, object] | None = None,
        invoked_by: str | None = None,
        step: float = 30.0,
        facts: IdentityFacts | None = None,
    ) -> list[Alert]:
        self.clock.advance(timedelta(seconds=step))
        self.n += 1
        event = Event(
            id=f"e{self.n}",
            time=self.clock.now(),
            source="cloudtrail",
            action=action,
            outcome="success",
            actor=actor or Actor("AssumedRole", "deploy", (SESSION, ROLE)),
            credential_id=credential,
            session=session if session is not None else {"issuer": ROLE, "name": "build-7"},
            src_ip=ip,
            user_agent=agent,
            invoked_by=invoked_by,
        )
        return self.analytics.observe(event, kind, facts)

    def warm_up(self, actions: tuple[str, ...] = ("s3:GetObject", "s3:PutObject"), **kw: object) -> None:
        for i in range(CONFIG.warmup_events):
            assert self.emit(actions[i % len(actions)], **kw) == []  # type: ignore[arg-type]


def _stream() -> Stream:
    return Stream(BehaviourAnalytics(CONFIG), FixedClock(datetime(2026, 3, 1, tzinfo=UTC)))


def _rules(alerts: list[Alert]) -> set[str]:
    return {a.rule_id for a in alerts}


def test_a_machine_doing_what_it_always_does_raises_nothing() -> None:
    s = _stream()
    s.warm_up()
    for i in range(200):
        assert s.emit(("s3:GetObject", "s3:PutObject")[i % 2]) == []


def test_a_machine_calling_a_new_sensitive_action_is_drift() -> None:
    s = _stream()
    s.warm_up()
    alerts = s.emit("iam:CreateAccessKey")
    drift = [a for a in alerts if a.rule_id == "behaviour.machine-new-action"]
    assert drift and drift[0].severity == "high"
    assert "iam:CreateAccessKey" in drift[0].reason and "baseline of 2 actions" in drift[0].reason
    assert s.emit("iam:CreateAccessKey") == []  # learned: one drift, one alert


def test_nothing_is_judged_during_warm_up() -> None:
    s = _stream()
    assert s.emit("s3:GetObject") == []
    assert s.emit("iam:CreateAccessKey") == []
    assert s.emit("s3:GetObject", ip="203.0.113.50", credential=None) == []


def test_a_machine_on_a_new_network_is_drift_but_a_person_is_not() -> None:
    s = _stream()
    s.warm_up()
    assert "behaviour.machine-new-network" in _rules(
        s.emit("s3:GetObject", ip="203.0.113.50", credential=None)
    )
    person = Actor("IAMUser", "ana", ("arn:aws:iam::111122223333:user/ana",))
    p = _stream()
    p.warm_up(actor=person, kind=UNKNOWN, session={}, agent="Mozilla/5.0")
    moved = p.emit(
        "s3:GetObject",
        actor=person,
        kind=UNKNOWN,
        session={},
        ip="203.0.113.50",
        agent="Mozilla/5.0",
        credential=None,
    )
    assert moved == []


def test_a_person_on_a_new_network_doing_something_sensitive_fires() -> None:
    person = Actor("IAMUser", "ana", ("arn:aws:iam::111122223333:user/ana",))
    kw = {"actor": person, "kind": HUMAN, "session": {}, "agent": "Mozilla/5.0", "credential": None}
    s = _stream()
    s.warm_up(**kw)
    assert s.emit("s3:GetObject", ip="203.0.113.50", **kw) == []  # type: ignore[arg-type]
    alerts = s.emit("iam:AttachUserPolicy", ip="203.0.113.50", **kw)  # type: ignore[arg-type]
    assert "behaviour.person-new-network-sensitive" in _rules(alerts)
    # the same sensitive action hours later, from the known networks, is quiet
    assert "behaviour.person-new-network-sensitive" not in _rules(
        s.emit("iam:AttachUserPolicy", step=7200, **kw)  # type: ignore[arg-type]
    )


def test_one_credential_from_two_networks_at_once_is_replay() -> None:
    s = _stream()
    s.emit("s3:GetObject", ip="198.51.100.7")
    alerts = s.emit("s3:ListBuckets", ip="203.0.113.9", step=60)
    replay = [a for a in alerts if a.rule_id == "behaviour.credential-replay"]
    assert replay and replay[0].credential_id == "ASIAEXAMPLE000000001" and replay[0].severity == "high"
    assert "60s apart" in replay[0].reason


def test_the_same_credential_hours_apart_on_two_networks_is_not_replay() -> None:
    s = _stream()
    s.emit("s3:GetObject", ip="198.51.100.7")
    assert "behaviour.credential-replay" not in _rules(
        s.emit("s3:GetObject", ip="203.0.113.9", step=4 * 3600)
    )


def test_a_workload_session_used_from_a_service_and_from_outside_is_replay() -> None:
    s = _stream()
    ec2 = {"issuer": ROLE, "name": "i-0123456789abcdef0"}
    s.emit("s3:GetObject", ip=None, invoked_by="ec2.amazonaws.com", session=ec2)
    alerts = s.emit("s3:GetObject", ip="203.0.113.9", session=ec2)
    assert "behaviour.credential-replay" in _rules(alerts)


def test_an_instance_session_with_a_desktop_user_agent_is_a_workload_credential_elsewhere() -> None:
    s = _stream()
    ec2 = {"issuer": ROLE, "name": "i-0123456789abcdef0"}
    alerts = s.emit("s3:ListBuckets", session=ec2, agent="aws-cli/2.15 Python/3.11 Darwin/23.1.0")
    found = [a for a in alerts if a.rule_id == "behaviour.workload-credential-elsewhere"]
    assert found and "NHI10" in found[0].owasp_nhi and "T1552.005" in found[0].techniques


def test_an_instance_session_on_a_network_a_user_just_used_is_flagged() -> None:
    s = _stream()
    user = Actor("IAMUser", "dev", ("arn:aws:iam::111122223333:user/dev", "AKIAEXAMPLE0000000002"))
    s.emit(
        "ssm:SendCommand",
        actor=user,
        kind=UNKNOWN,
        session={},
        credential="AKIAEXAMPLE0000000002",
        ip="192.0.2.10",
    )
    ec2 = {"issuer": ROLE, "name": "i-0123456789abcdef0"}
    alerts = s.emit("sts:GetCallerIdentity", session=ec2, ip="192.0.2.10")
    assert "behaviour.workload-credential-elsewhere" in _rules(alerts)
    # the instance on its own network is fine
    other = _stream()
    assert other.emit("sts:GetCallerIdentity", session=ec2, ip="192.0.2.10") == []


def test_a_person_using_a_warm_machine_identity_is_flagged_once() -> None:
    s = _stream()
    s.warm_up()
    alerts = s.emit("s3:GetObject", agent="Mozilla/5.0 (Windows NT 10.0)")
    assert "behaviour.person-uses-machine-credential" in _rules(alerts)
    assert "behaviour.person-uses-machine-credential" not in _rules(
        s.emit("s3:GetObject", agent="Mozilla/5.0")
    )


def test_a_dormant_identity_waking_up_is_flagged() -> None:
    s = _stream()
    s.warm_up()
    alerts = s.emit("s3:GetObject", step=45 * 86400)
    dormant = [a for a in alerts if a.rule_id == "behaviour.dormant-identity"]
    assert dormant and "45 days" in dormant[0].reason
    assert "behaviour.dormant-identity" not in _rules(s.emit("s3:GetObject", step=5 * 86400))


def test_dormancy_from_the_inventory_and_ownerless_sensitive_actions() -> None:
    s = _stream()
    facts = IdentityFacts("idn_1", "service", None, True, datetime(2025, 1, 1, tzinfo=UTC))
    alerts = s.emit("secretsmanager:GetSecretValue", facts=facts)
    assert {"behaviour.dormant-identity", "behaviour.ownerless-sensitive"} <= _rules(alerts)
    owned = IdentityFacts("idn_1", "service", "idn_owner", True, None)
    assert "behaviour.ownerless-sensitive" not in _rules(s.emit("secretsmanager:GetSecretValue", facts=owned))


def test_an_agent_at_forty_times_its_pace_is_a_burst() -> None:
    s = _stream()
    for _ in range(CONFIG.warmup_events + 10):  # about one call a minute
        s.emit("bedrock:InvokeModel", kind=AGENT, step=60)
    burst: list[Alert] = []
    for _ in range(40):
        burst += s.emit("bedrock:InvokeModel", kind=AGENT, step=1)
    found = [a for a in burst if a.rule_id == "behaviour.burst"]
    assert len(found) == 1 and found[0].severity == "high" and "AML.T0053" in found[0].techniques


def test_a_steady_machine_does_not_burst() -> None:
    s = _stream()
    for _ in range(300):
        assert "behaviour.burst" not in _rules(s.emit("s3:GetObject", step=2))


def test_the_absolute_cap_fires_without_a_baseline() -> None:
    s = Stream(
        BehaviourAnalytics(BehaviourConfig(burst_cap=100)), FixedClock(datetime(2026, 3, 1, tzinfo=UTC))
    )
    rules: set[str] = set()
    for _ in range(120):
        rules |= _rules(s.emit("s3:GetObject", step=0.1))
    assert "behaviour.burst" in rules


def test_an_unseen_transition_into_a_sensitive_action_is_unusual() -> None:
    s = _stream()
    s.warm_up(actions=("sts:GetCallerIdentity", "s3:GetObject", "iam:PassRole", "s3:PutObject"))
    # recon straight into PassRole was never seen (GetCallerIdentity was followed by GetObject)
    s.emit("sts:GetCallerIdentity")
    alerts = s.emit("iam:PassRole")
    assert "behaviour.unusual-sequence" in _rules(alerts)
    # a known transition into the same action is quiet
    s.emit("s3:GetObject")
    assert "behaviour.unusual-sequence" not in _rules(s.emit("iam:PassRole"))


def test_alerts_carry_identity_credential_and_evidence() -> None:
    s = _stream()
    s.warm_up()
    alert = next(a for a in s.emit("iam:CreateAccessKey") if a.rule_id == "behaviour.machine-new-action")
    assert alert.identity == SESSION and ROLE in alert.external_ids
    assert alert.credential_id == "ASIAEXAMPLE000000001"
    assert alert.evidence == [f"e{s.n}"] and alert.source == "behaviour"
    assert alert.suppression_key.startswith("behaviour.machine-new-action|" + ROLE)
