"""The behaviour analytics' own rule ids, titles, techniques and OWASP NHI risks."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Analytic:
    id: str
    title: str
    techniques: tuple[str, ...]
    owasp_nhi: tuple[str, ...]
    description: str


_ALL = (
    Analytic(
        "behaviour.machine-new-action",
        "Machine identity performed an action outside its baseline",
        ("T1078.004",),
        ("NHI5",),
        "After warm-up a machine does only what it did before; a new action is drift.",
    ),
    Analytic(
        "behaviour.machine-new-network",
        "Machine identity acted from a network outside its baseline",
        ("T1078.004",),
        ("NHI2",),
        "After warm-up a machine calls from the networks it called from before.",
    ),
    Analytic(
        "behaviour.agent-drift",
        "Agent acted outside its baseline",
        ("T1078.004", "AML.T0053", "AML.T0051"),
        ("NHI5",),
        "An agent (acting for someone) used a tool or action it never used before.",
    ),
    Analytic(
        "behaviour.person-new-network-sensitive",
        "Person performed a sensitive action from a new network",
        ("T1078.004",),
        (),
        "A person is held loosely: only a new network followed by a sensitive action fires.",
    ),
    Analytic(
        "behaviour.impossible-travel",
        "Identity moved between places faster than travel allows",
        ("T1078",),
        (),
        "Needs a geo lookup; two places whose distance over time exceeds the speed limit.",
    ),
    Analytic(
        "behaviour.credential-replay",
        "Credential used from two places at once",
        ("T1550.001", "T1078.004"),
        ("NHI2",),
        "One access key, session or token from two networks, or from an AWS service and "
        "an outside address, within the replay window.",
    ),
    Analytic(
        "behaviour.workload-credential-elsewhere",
        "Workload credential used outside its workload",
        ("T1552.005", "T1078.004"),
        ("NHI2", "NHI10"),
        "A compute workload's session (instance profile, Lambda, ECS task) used from a "
        "person's workstation or from a network another identity works from.",
    ),
    Analytic(
        "behaviour.person-uses-machine-credential",
        "Person used a machine identity's credential",
        ("T1078.004",),
        ("NHI10",),
        "A console login, browser or desktop user agent on a machine identity whose "
        "baseline never showed one.",
    ),
    Analytic(
        "behaviour.dormant-identity",
        "Dormant identity woke up",
        ("T1078.004",),
        ("NHI1",),
        "An identity silent for longer than the dormancy threshold acted again.",
    ),
    Analytic(
        "behaviour.ownerless-sensitive",
        "Ownerless identity performed a sensitive action",
        ("T1078.004",),
        ("NHI1",),
        "A discovered identity without an accountable owner did something sensitive.",
    ),
    Analytic(
        "behaviour.burst",
        "Identity acted at machine speed far above its baseline",
        ("T1078.004",),
        (),
        "Events in one minute above the factor times the identity's mean rate, or above the absolute cap.",
    ),
    Analytic(
        "behaviour.unusual-sequence",
        "Unusual action sequence",
        ("T1078.004",),
        ("NHI5",),
        "A transition (action A then action B) never seen in the baseline into a sensitive action.",
    ),
)

ANALYTICS: dict[str, Analytic] = {a.id: a for a in _ALL}
