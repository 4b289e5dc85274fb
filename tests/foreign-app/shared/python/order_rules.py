"""The shop's order rules, shipped as a layer (python/ in the layer is on sys.path)."""


def check(order):
    """Raises ValueError when the order cannot be accepted."""
    if not isinstance(order.get("id"), str) or not order["id"]:
        raise ValueError("an order needs an id")
    if not isinstance(order.get("amount"), (int, float)) or order["amount"] <= 0:
        raise ValueError(f"amount {order.get('amount')!r} is not positive")
