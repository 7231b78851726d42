"""What the analytics remember of a workload session between its events.

A session — one credential, used by one identity from one address with one user agent —
repeats for tens to hundreds of calls. Its first event works out the network, user agent
and workload of the session and learns them into the identity's profile; the next events
of the same session reuse those verdicts instead of parsing and searching again. An entry
holds only what cannot change while the session repeats:

* the parsed network, user agent and workload (pure functions of the address, the user
  agent and the session's name and issuer);
* whether the network is in the profile's baseline (a profile's sets only grow, and the
  entry is tied to the profile object, so an evicted and recreated profile misses);
* that the user agent's family has been offered to the profile (learning it again would
  change nothing).

Checks that depend on other identities or on time (replay windows, shared networks,
bursts, action novelty) still run on every event.
"""

from __future__ import annotations

from onelane.detect.behaviour.features import AgentInfo
from onelane.detect.behaviour.state import Profile
from onelane.events.models import Event


class Session:
    """The verdicts of one credential's current session (module docstring)."""

    __slots__ = (
        "actor_type",
        "address",
        "agent",
        "issuer",
        "name",
        "net_known",
        "place",
        "profile",
        "user_agent",
        "workload",
    )

    def __init__(
        self,
        profile: Profile,
        event: Event,
        place: tuple[int, bool] | None,
        agent: AgentInfo,
        workload: str | None,
    ) -> None:
        self.profile = profile
        self.address = event.src_ip
        self.user_agent = event.user_agent
        self.name = event.session.get("name")
        self.issuer = event.session.get("issuer")
        self.actor_type = event.actor.type
        self.place = place
        self.agent = agent
        self.workload = workload
        self.net_known = False


class Sessions:
    """Session entries by credential, at most ``cap`` (all dropped when full: they are
    rebuilt by the next event of each session)."""

    __slots__ = ("cap", "data")

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.data: dict[str, Session] = {}

    def put(self, credential: str, session: Session) -> None:
        data = self.data
        if len(data) >= self.cap and credential not in data:
            data.clear()
        data[credential] = session

    def __len__(self) -> int:
        return len(self.data)
