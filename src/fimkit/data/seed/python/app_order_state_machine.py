"""Explicit state machine for an e-commerce order's lifecycle."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum


class OrderState(str, Enum):
    CART = "cart"
    PENDING_PAYMENT = "pending_payment"
    PAID = "paid"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


# (current state, event) -> next state. Keeping the table as data makes the
# allowed flow easy to review and to render as a diagram.
TRANSITIONS: dict[tuple[OrderState, str], OrderState] = {
    (OrderState.CART, "checkout"): OrderState.PENDING_PAYMENT,
    (OrderState.PENDING_PAYMENT, "pay"): OrderState.PAID,
    (OrderState.PENDING_PAYMENT, "cancel"): OrderState.CANCELLED,
    (OrderState.PAID, "ship"): OrderState.SHIPPED,
    (OrderState.PAID, "cancel"): OrderState.REFUNDED,
    (OrderState.SHIPPED, "deliver"): OrderState.DELIVERED,
    (OrderState.DELIVERED, "return"): OrderState.REFUNDED,
}


class InvalidTransition(Exception):
    def __init__(self, state: OrderState, event: str) -> None:
        super().__init__(f"cannot '{event}' an order that is {state.value}")
        self.state = state
        self.event = event


@dataclass
class Order:
    order_id: str
    state: OrderState = OrderState.CART
    history: list[tuple[datetime, OrderState, str]] = field(default_factory=list)

    def allowed_events(self) -> list[str]:
        return [event for (state, event) in TRANSITIONS if state is self.state]

    def fire(self, event: str) -> OrderState:
        try:
            target = TRANSITIONS[(self.state, event)]
        except KeyError:
            raise InvalidTransition(self.state, event) from None
        # Record the state we leave, giving a full audit trail for support staff.
        self.history.append((datetime.now(timezone.utc), self.state, event))
        self.state = target
        return target

    @property
    def is_final(self) -> bool:
        return not self.allowed_events()


if __name__ == "__main__":
    order = Order("ord_1001")
    for ev in ("checkout", "pay", "ship", "deliver"):
        order.fire(ev)
    print(order.state.value, "final" if order.is_final else order.allowed_events())
    try:
        Order("ord_1002").fire("ship")
    except InvalidTransition as err:
        print("rejected:", err)
