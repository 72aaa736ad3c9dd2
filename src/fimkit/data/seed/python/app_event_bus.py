"""Synchronous publish/subscribe event bus with typed events."""
from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Callable, TypeVar

E = TypeVar("E")
Listener = Callable[[Any], None]
logger = logging.getLogger(__name__)


class EventBus:
    """Dispatch events to listeners registered for their class or any base class."""

    def __init__(self) -> None:
        self._listeners: dict[type, list[Listener]] = defaultdict(list)

    def subscribe(self, event_type: type[E], listener: Callable[[E], None]) -> Callable[[], None]:
        self._listeners[event_type].append(listener)

        def unsubscribe() -> None:
            try:
                self._listeners[event_type].remove(listener)
            except ValueError:
                pass  # already removed; make unsubscribe idempotent

        return unsubscribe

    def on(self, event_type: type[E]):
        """Decorator form of :meth:`subscribe`."""
        def decorator(fn: Callable[[E], None]) -> Callable[[E], None]:
            self.subscribe(event_type, fn)
            return fn
        return decorator

    def publish(self, event: object) -> int:
        delivered = 0
        # Walking the MRO lets a listener for a base class see all subclasses.
        for cls in type(event).__mro__:
            # Copy the list: a listener may unsubscribe itself while we iterate.
            for listener in list(self._listeners.get(cls, ())):
                try:
                    listener(event)
                    delivered += 1
                except Exception:
                    # One broken listener must not stop the others from running.
                    logger.exception("listener %r failed for %r", listener, event)
        return delivered


@dataclass(frozen=True)
class DomainEvent:
    aggregate_id: str


@dataclass(frozen=True)
class UserRegistered(DomainEvent):
    email: str


if __name__ == "__main__":
    bus = EventBus()

    @bus.on(UserRegistered)
    def send_welcome(evt: UserRegistered) -> None:
        print(f"welcome mail -> {evt.email}")

    audit = bus.subscribe(DomainEvent, lambda evt: print("audit:", evt))
    print("delivered", bus.publish(UserRegistered("u_7", "ada@example.com")))
    audit()
    print("delivered", bus.publish(UserRegistered("u_8", "alan@example.com")))
