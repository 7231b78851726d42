"""Behaviour analytics: per-identity baselines, credential checks, bursts and sequences.

``BehaviourAnalytics.observe(event, kind)`` takes normalised events in time order and
returns the :class:`~onelane.detect.models.Alert` values the event raises. What is checked
(thresholds in :class:`BehaviourConfig`, documented in docs/detection.md):

* **baseline drift** — after warm-up a machine (or agent) is held strictly: a new action or
  a new source network is drift. A person is held loosely: only a sensitive action soon
  after a new network fires; impossible travel only with a geo lookup.
* **credential replay** — one credential from two networks, or from an AWS service and an
  outside address, within the replay window.
* **workload credential elsewhere** — an instance-profile, Lambda or ECS session (or a key
  an AWS service was issued) used from a desktop or browser user agent, or from a network
  where another identity was just seen.
* **person uses a machine credential** — console login, browser or desktop user agent on a
  machine identity whose warm baseline never showed one.
* **dormant** / **ownerless** identities, **bursts** and **unusual sequences**.

Learning continues after warm-up: whatever alerted is added to the baseline, so one drift
is one alert (repeat hits merge into it through the suppression key).
"""

from __future__ import annotations

from bisect import bisect_left

from onelane.detect.behaviour.alerts import DAY, Absorb, AlertBuilder
from onelane.detect.behaviour.config import BehaviourConfig
from onelane.detect.behaviour.features import (
    AGENT,
    HUMAN,
    MACHINE,
    SERVICE,
    AgentInfo,
    agent_of,
    category_name,
    distance_km,
    issued_key,
    network_of,
    principal_of,
    workload_session,
)
from onelane.detect.behaviour.places import SERVICE_PLACE as _SERVICE_PLACE  # "an AWS service"
from onelane.detect.behaviour.places import use_place
from onelane.detect.behaviour.sessions import Session, Sessions
from onelane.detect.behaviour.state import LRU, Profile, add
from onelane.detect.facts import IdentityFacts
from onelane.detect.models import Alert
from onelane.detect.sensitivity import Sensitivity, default_sensitivity
from onelane.events.models import Event

_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_STRICT = (MACHINE, AGENT)
_CONSOLE_ACTIONS = frozenset({"signin:ConsoleLogin", "okta:user.session.start"})
_MAX_ACTIONS = 1_000_000


class BehaviourAnalytics(AlertBuilder):
    """Streaming behaviour analytics with bounded state (see the module docstring)."""

    def __init__(self, config: BehaviourConfig | None = None, sensitivity: Sensitivity | None = None) -> None:
        self.config = config or BehaviourConfig()
        self.sensitivity = sensitivity or default_sensitivity()
        cfg = self.config
        self.profiles: LRU[str, Profile] = LRU(cfg.max_identities)
        # credential -> [place, last time, place, last time, ...] (at most N places)
        self.credentials: LRU[str, tuple[float, ...]] = LRU(cfg.max_credentials)
        # key issued by an AWS service's AssumeRole -> the service
        self.issued: LRU[str, str] = LRU(cfg.max_credentials)
        # network -> (principal, time) of the last non-workload identity seen on it
        self.recent_networks: LRU[int, tuple[str, float]] = LRU(cfg.max_recent_networks)
        # credential -> the verdicts of its current session (sessions.py)
        self.sessions = Sessions(cfg.max_credentials)
        # action -> (64-bit key, sensitivity weight, the key's share of a transition key)
        self._actions: dict[str, tuple[int, int, int]] = {}
        self._dormant_after = cfg.dormant_days * DAY
        # no burst below this many calls in a minute, whatever the kind and baseline
        self._burst_min = min(cfg.burst_floor, cfg.burst_floor_human, cfg.burst_cap - 1)
        self.absorb: Absorb | None = None

    # ------------------------------------------------------------------ entry
    def observe(self, event: Event, kind: str, facts: IdentityFacts | None = None) -> list[Alert]:
        """Alerts raised by ``event`` of an identity of ``kind`` (see features.KINDS)."""
        action = event.action
        if kind == SERVICE:
            if action == "sts:AssumeRole":
                key = issued_key(event)
                if key:
                    self.issued.put(key, event.invoked_by or event.actor.name or "aws-service")
            return []
        cfg = self.config
        ts = event.time.timestamp()
        principal = principal_of(event)
        profiles = self.profiles.data
        profile = profiles.get(principal)
        out: list[Alert] = []
        if profile is None:
            profile = Profile(ts)
            self.profiles.put(principal, profile)
            if facts is not None and facts.last_seen is not None:
                gap = ts - facts.last_seen.timestamp()
                if gap >= cfg.dormant_days * DAY:
                    out.append(self._dormant(event, principal, kind, gap, "the inventory"))
        else:
            profiles.move_to_end(principal)
            if ts - profile.last_ts >= self._dormant_after:
                out.append(self._dormant(event, principal, kind, ts - profile.last_ts, "its activity"))

        entry = self._actions.get(action)
        if entry is None:
            entry = self._action(action)
        akey, weight, _ = entry
        credential = event.credential_id
        address = event.src_ip
        user_agent = event.user_agent
        session = event.session
        sess = self.sessions.data.get(credential) if credential else None
        if sess is not None and not (
            sess.profile is profile
            and sess.address == address
            and sess.user_agent == user_agent
            and sess.name == session.get("name")
            and sess.issuer == session.get("issuer")
            and sess.actor_type == event.actor.type
        ):
            sess = None
        if sess is None:
            repeat = False
            place = network_of(address)
            agent = agent_of(user_agent)
            workload = workload_session(event)
            if credential:
                sess = Session(profile, event, place, agent, workload)
                self.sessions.put(credential, sess)
        else:  # a repeat of the credential's session: its verdicts hold
            repeat = True
            place, agent, workload = sess.place, sess.agent, sess.workload
        if credential and workload is None:
            workload = self.issued.data.get(credential)
        interactive = agent.interactive or action in _CONSOLE_ACTIONS or bool(session.get("console"))

        # where the action, the network and the transition sit in the profile's sorted sets:
        # each searched once, used for novelty and for learning
        actions = profile.actions
        a_at = bisect_left(actions, akey)
        new_action = a_at == len(actions) or actions[a_at] != akey
        networks = profile.networks
        n_at = -1
        new_network = False
        if place is not None and not (repeat and sess is not None and sess.net_known):
            n_at = bisect_left(networks, place[0])
            new_network = n_at == len(networks) or networks[n_at] != place[0]
        prev, _, prev_seed = profile.last_action
        transitions = profile.transitions
        new_transition = False
        if prev:
            tkey = prev_seed ^ akey
            t_at = bisect_left(transitions, tkey)
            new_transition = t_at == len(transitions) or transitions[t_at] != tkey

        # bursts: count the minute; judge only past the lowest limit a burst can have
        minute = int(ts) // 60  # integer division: float // calls fmod
        new_minute = minute != profile.minute
        if new_minute:
            profile.close_minute()
            profile.minute = minute
            profile.minute_count = 0
        profile.minute_count += 1
        if profile.minute_count > self._burst_min and profile.burst_minute != minute:
            self._burst(event, principal, profile, kind, minute, out)
        if profile.warm:
            if new_action or new_network:
                self._drift(
                    event,
                    principal,
                    profile,
                    kind,
                    akey,
                    weight,
                    place,
                    ts,
                    new_action,
                    new_network,
                    new_transition,
                    out,
                )
            else:  # a known action from a known network (the usual case): _drift without novelty
                strict = kind in _STRICT
                prev_novel, profile.prev_novel = profile.prev_novel, False
                if not strict and weight >= cfg.person_sensitive_weight and ts <= profile.new_network_until:
                    self._person_recent_network(event, principal, profile, weight, place, ts, out)
                if (
                    new_transition
                    and not prev_novel
                    and prev != akey
                    and weight >= (cfg.sequence_weight_machine if strict else cfg.sequence_weight_human)
                ):
                    self._sequence_if_new(event, principal, profile, strict, weight, new_transition, out)
        if interactive and not profile.interactive:
            self._person_on_machine(event, principal, profile, kind, workload, agent, out)
        if credential and (place is not None or event.invoked_by):
            held = self.credentials.data
            state = held.get(credential)
            if state is not None and len(state) == 2 and place is not None and state[0] == float(place[0]):
                # one place so far, and this is it (the usual case): only its time moves
                held.move_to_end(credential)
                if ts > state[1]:
                    held[credential] = (state[0], ts)
            else:
                self._replay(event, credential, kind, place, workload, ts, out)
        if workload is not None and place is not None and not agent.interactive:
            self._shared_network(event, principal, workload, place[0], ts, out)
        elif workload is None and place is not None:
            recent = self.recent_networks  # LRU.put, inlined
            nets = recent.data
            nets[place[0]] = (principal, ts)
            nets.move_to_end(place[0])
            if len(nets) > recent.cap:
                nets.popitem(last=False)
                recent.evicted += 1
        if facts is not None and weight >= 2 and facts.discovered and not facts.owner_id:
            category = self.sensitivity.classify(action)
            out.append(self._ownerless(event, principal, kind, weight, category_name(category)))
        if cfg.geo is not None and place is not None and not place[1] and event.src_ip:
            self._travel(event, principal, profile, ts, out)

        # learning
        if new_action and len(actions) < cfg.max_actions:
            actions.insert(a_at, akey)
        if new_transition and len(transitions) < cfg.max_transitions:
            transitions.insert(t_at, tkey)
        profile.last_action = entry
        if new_network and place is not None and len(networks) < cfg.max_networks:
            networks.insert(n_at, place[0])
            new_network = False
        if sess is not None:
            sess.net_known = not new_network
        if agent.family_key and not repeat:
            add(profile.agents, agent.family_key, cfg.max_agents)
        if new_minute:  # a later event of the same minute is in the same hour
            profile.hours |= 1 << (minute // 60 % 24)
        if interactive:
            profile.interactive = True
        profile.events += 1
        if ts > profile.last_ts:
            profile.last_ts = ts
        if not profile.warm and (
            profile.events >= cfg.warmup_events or ts - profile.first_ts >= cfg.warmup_days * DAY
        ):
            profile.warm = True
        return out

    def _action(self, action: str) -> tuple[int, int, int]:
        """``(64-bit key, sensitivity weight, seed)`` of an action, remembered; a transition
        from it to an action of key ``k`` has the key ``seed ^ k``."""
        key = hash(action) & _MASK
        found = (key, self.sensitivity.weight(action), (key * _GOLDEN) & _MASK)
        if len(self._actions) >= _MAX_ACTIONS:
            self._actions.clear()
        self._actions[action] = found
        return found

    # ------------------------------------------------------------- drift
    def _drift(
        self,
        event: Event,
        principal: str,
        profile: Profile,
        kind: str,
        akey: int,
        weight: int,
        place: tuple[int, bool] | None,
        ts: float,
        new_action: bool,
        new_network: bool,
        new_transition: bool,
        out: list[Alert],
    ) -> None:
        """Novelty against a warm baseline; ``new_action``, ``new_network`` and
        ``new_transition`` (from the previous action) were looked up in the profile."""
        cfg = self.config
        strict = kind in (MACHINE, AGENT)
        new_action = new_action and len(profile.actions) < cfg.max_actions
        new_network = new_network and len(profile.networks) < cfg.max_networks
        prev = profile.last_action[0]
        prev_novel, profile.prev_novel = profile.prev_novel, new_action
        if strict:
            if new_action:
                out.append(self._new_action(event, principal, profile, kind, weight, ts))
            if new_network and place is not None:
                out.append(self._new_network(event, principal, profile, kind, weight, ts))
        else:
            if new_network and place is not None:
                profile.new_network_until = ts + cfg.new_network_window
            self._person_recent_network(event, principal, profile, weight, place, ts, out)
        if prev and not new_action and not prev_novel and prev != akey:
            self._sequence_if_new(event, principal, profile, strict, weight, new_transition, out)

    def _person_recent_network(
        self,
        event: Event,
        principal: str,
        profile: Profile,
        weight: int,
        place: tuple[int, bool] | None,
        ts: float,
        out: list[Alert],
    ) -> None:
        """A person's sensitive action soon after first acting from a new network."""
        if (
            weight >= self.config.person_sensitive_weight
            and place is not None
            and ts <= profile.new_network_until
        ):
            out.append(self._person_new_network(event, principal, profile, weight))

    def _sequence_if_new(
        self,
        event: Event,
        principal: str,
        profile: Profile,
        strict: bool,
        weight: int,
        new_transition: bool,
        out: list[Alert],
    ) -> None:
        """A weighty action reached by a transition the profile never made."""
        cfg = self.config
        needed = cfg.sequence_weight_machine if strict else cfg.sequence_weight_human
        if weight >= needed and len(profile.transitions) < cfg.max_transitions and new_transition:
            out.append(self._sequence(event, principal, profile, strict, weight))

    # ------------------------------------------------------------- bursts
    def _burst(
        self, event: Event, principal: str, profile: Profile, kind: str, minute: int, out: list[Alert]
    ) -> None:
        """Judge the minute's count (observe counted it, and called past the lowest limit)."""
        cfg = self.config
        count = profile.minute_count
        if count >= cfg.burst_cap:
            limit = float(cfg.burst_cap)
            why = f"the absolute cap of {cfg.burst_cap}/min"
        elif profile.warm and profile.minutes >= 3:
            floor = cfg.burst_floor_human if kind == HUMAN else cfg.burst_floor
            factor = cfg.burst_factor_agent if kind == AGENT else cfg.burst_factor
            limit = max(float(floor), factor * profile.rate_mean)
            if count <= limit:
                return
            why = (
                f"{factor:g} x its mean of {profile.rate_mean:.1f}/min over {profile.minutes} "
                f"active minutes (floor {floor}/min, peak {profile.rate_peak:.0f}/min)"
            )
        else:
            return
        profile.burst_minute = minute
        alert = self._alert(
            event,
            "behaviour.burst",
            "high" if kind == AGENT else "medium",
            lambda: f"{kind} {principal} made {count} calls in one minute, above {why}",
            principal,
            {
                "per_minute": count,
                "limit": limit,
                "mean": round(profile.rate_mean, 2),
                "peak": profile.rate_peak,
            },
        )
        if kind == AGENT and "AML.T0053" not in alert.techniques:
            alert.techniques += ("AML.T0053", "AML.T0034.002")
        out.append(alert)

    # ------------------------------------------------------------- credentials
    def _replay(
        self,
        event: Event,
        credential: str,
        kind: str,
        place: tuple[int, bool] | None,
        workload: str | None,
        ts: float,
        out: list[Alert],
    ) -> None:
        cfg = self.config
        if place is not None:
            here, internal = float(place[0]), place[1]
        elif (event.invoked_by or "").endswith(".amazonaws.com"):
            here, internal = float(_SERVICE_PLACE), True
        else:
            return
        held = self.credentials.data
        state = held.get(credential)
        if state is None:
            self.credentials.put(credential, (here, ts))
            return
        held.move_to_end(credential)
        if len(state) == 2 and state[0] == here:  # one place so far, and this is it
            if ts > state[1]:
                held[credential] = (here, ts)
            return
        people = kind not in (MACHINE, AGENT) and workload is None
        window = cfg.replay_window_human if people else cfg.replay_window
        places, clash = use_place(
            state, here, internal, ts, people, workload, window, cfg.credential_networks
        )
        self.credentials.put(credential, places)
        if clash is None:
            return
        where = "an AWS service" if clash[0] == _SERVICE_PLACE else "another network"
        out.append(
            self._alert(
                event,
                "behaviour.credential-replay",
                "medium" if people else "high",
                lambda: (
                    f"credential {credential} used from {event.src_ip or event.invoked_by} and from "
                    f"{where} {ts - clash[1]:.0f}s apart (replay window {window:.0f}s)"
                ),
                None,
                {"src_ip": event.src_ip, "gap_seconds": round(ts - clash[1], 1), "window": window},
            )
        )

    def _shared_network(
        self, event: Event, principal: str, workload: str, net: int, ts: float, out: list[Alert]
    ) -> None:
        seen = self.recent_networks.peek(net)
        if seen is None or seen[0] == principal:
            return
        if ts - seen[1] > self.config.shared_network_window:
            return
        out.append(
            self._alert(
                event,
                "behaviour.workload-credential-elsewhere",
                "high",
                lambda: (
                    f"{workload} workload session of {principal} used from {event.src_ip}, the "
                    f"network {seen[0]} acted from {ts - seen[1]:.0f}s before; a workload's "
                    f"credential should only be used by the workload"
                ),
                None,
                {"src_ip": event.src_ip, "other_identity": seen[0], "workload": workload},
            )
        )

    def _person_on_machine(
        self,
        event: Event,
        principal: str,
        profile: Profile,
        kind: str,
        workload: str | None,
        agent: AgentInfo,
        out: list[Alert],
    ) -> None:
        how = f"a {agent.family} user agent" if agent.interactive else f"an interactive {event.action}"
        if workload is not None:
            out.append(
                self._alert(
                    event,
                    "behaviour.workload-credential-elsewhere",
                    "high",
                    lambda: (
                        f"{workload} workload session of {principal} used with {how} "
                        f"({event.user_agent}) from {event.src_ip}: a person holds the workload's "
                        f"credential"
                    ),
                    None,
                    {"user_agent": event.user_agent, "workload": workload},
                )
            )
            return
        if not profile.warm:
            return
        if kind == HUMAN:
            return
        out.append(
            self._alert(
                event,
                "behaviour.person-uses-machine-credential",
                "high" if kind in (MACHINE, AGENT) else "medium",
                lambda: (
                    f"{kind} {principal} used with {how} ({event.user_agent}) though its baseline "
                    f"of {profile.events} events never was interactive"
                ),
                None,
                {"user_agent": event.user_agent, "baseline_events": profile.events},
            )
        )

    # -------------------------------------------------------- identity facts
    def _travel(self, event: Event, principal: str, profile: Profile, ts: float, out: list[Alert]) -> None:
        cfg = self.config
        assert cfg.geo is not None and event.src_ip
        where = cfg.geo(event.src_ip)
        if where is None:
            return
        last = profile.place
        profile.place = (where[0], where[1], ts)
        if last is None:
            return
        km = distance_km(last[0], last[1], where[0], where[1])
        hours = max(ts - last[2], 1.0) / 3600
        speed = km / hours
        if km >= cfg.min_travel_km and speed > cfg.max_speed_kmh:
            out.append(
                self._alert(
                    event,
                    "behaviour.impossible-travel",
                    "high",
                    lambda: (
                        f"{principal} moved {km:.0f} km in {hours * 60:.0f} min ({speed:.0f} km/h, "
                        f"limit {cfg.max_speed_kmh:.0f} km/h) to {event.src_ip}"
                    ),
                    principal,
                    {"km": round(km), "kmh": round(speed)},
                )
            )

    def identities(self) -> int:
        return len(self.profiles)
