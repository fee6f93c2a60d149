"""Payment provider adapters for ``accounts.logic.ports.PaymentProvider``, chosen by ``$PAYMENT_PROVIDER``."""

from __future__ import annotations

import hashlib
import os

from accounts.logic.ports import ChargeRequest, ChargeResult, PaymentProvider

# Stripe-style test payment methods that fail, with Stripe's decline codes.
DECLINING_METHODS = {
    "pm_card_declined": "card_declined",
    "pm_card_chargeDeclined": "card_declined",
    "pm_card_chargeDeclinedInsufficientFunds": "insufficient_funds",
    "pm_card_chargeDeclinedExpiredCard": "expired_card",
}


class LocalPaymentProvider(PaymentProvider):
    """Approves every charge except the declining test payment methods. No network, deterministic."""

    def charge(self, request: ChargeRequest) -> ChargeResult:
        # Same idempotency key -> same reference, as a real provider replays the first outcome.
        reference = "ch_local_" + hashlib.sha256(request.idempotency_key.encode()).hexdigest()[:24]
        decline = DECLINING_METHODS.get(request.payment_method)
        if decline:
            return ChargeResult(approved=False, reference=reference, decline_code=decline)
        return ChargeResult(approved=True, reference=reference)


def payment_provider_from_env() -> PaymentProvider:
    name = (os.environ.get("PAYMENT_PROVIDER") or "local").strip().lower()
    if name == "local":
        return LocalPaymentProvider()
    raise ValueError(f"Unsupported PAYMENT_PROVIDER {name!r} (supported: local)")
