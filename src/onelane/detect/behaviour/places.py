"""Where a credential was used: its recent places, and the replay check over them.

A credential's state is a flat tuple ``(place, last time, place, last time, ...)`` with at
most ``cap`` places (a tuple of floats is not tracked by the garbage collector, a list
is). A place is a network key, or ``SERVICE_PLACE`` for "an AWS service".
"""

from __future__ import annotations

SERVICE_PLACE = 1


def use_place(
    state: tuple[float, ...],
    here: float,
    internal: bool,
    ts: float,
    people: bool,
    workload: str | None,
    window: float,
    cap: int,
) -> tuple[tuple[float, ...], tuple[float, float] | None]:
    """The state after a use from ``here`` at ``ts``, and the ``(place, time)`` it clashes
    with: another place used within ``window``. A service place clashes only for a
    workload session; for a person (``people``) an internal address does not clash."""
    clash = None
    places = list(state)
    for i in range(0, len(places), 2):
        other, seen = places[i], places[i + 1]
        if other == here or ts - seen > window:
            continue
        if other == SERVICE_PLACE or here == SERVICE_PLACE:
            if workload is None:
                continue
        elif people and internal:
            continue
        clash = (other, seen)
        break
    for i in range(0, len(places), 2):
        if places[i] == here:
            places[i + 1] = max(places[i + 1], ts)
            break
    else:
        places.extend((here, ts))
        if len(places) > 2 * cap:
            oldest = min(range(0, len(places), 2), key=lambda j: places[j + 1])
            del places[oldest : oldest + 2]
    return tuple(places), clash
