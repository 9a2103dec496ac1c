"""Property: an estimate made for missing data never pays its owner more than the metered truth
would (for any traded, recorded and true energy and imbalance prices; the truth is at least
what was recorded, since registers only grow)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from abci_app.market.records import BUY, SELL
from abci_app.market.settlement import imbalance_owed

wh = st.integers(0, 10**9)
price = st.integers(0, 10**6)


@given(traded=wh, recorded=wh, extra=wh, short=price, long=price)
def test_a_buyers_estimate_is_never_paid_an_unused_purchase(
    traded: int, recorded: int, extra: int, short: int, long: int
) -> None:
    """Buyer: consumed estimated as max(bought, recorded) is never paid by the supplier, and owes
    exactly the truth's imbalance whenever the recorded part already exceeds the purchase."""
    owed = imbalance_owed(BUY, traded, max(traded, recorded), short, long)
    assert owed >= 0
    if recorded >= traded and extra == 0:
        assert owed == imbalance_owed(BUY, traded, recorded, short, long)


@given(traded=wh, recorded=wh, extra=wh, short=price, long=price)
def test_a_sellers_estimate_never_owes_less_than_the_truth(
    traded: int, recorded: int, extra: int, short: int, long: int
) -> None:
    """Seller: delivered estimated as recorded (at most the truth) owes at least what the truth
    owes, so silence never earns a seller anything."""
    truth = recorded + extra
    assert imbalance_owed(SELL, traded, recorded, short, long) >= imbalance_owed(SELL, traded, truth, short, long)
