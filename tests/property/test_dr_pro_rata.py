"""Demand-response rewards when the budget is short: pro rata, exact integers, order-free."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from abci_app.grid.handlers import reward_for
from abci_app.grid.params import MAX_DR_BUDGET, MAX_DR_CLAIM

claims_st = st.lists(st.integers(0, MAX_DR_CLAIM), min_size=1, max_size=50)


@given(claims_st, st.integers(0, MAX_DR_BUDGET), st.randoms(use_true_random=False))
def test_rewards_never_exceed_the_budget_and_ignore_order(claims: list[int], budget: int, rnd: random.Random) -> None:
    """Σ rewards ≤ budget, each reward ≤ its claim, full payment when the budget suffices, less
    than one unit per claim lost to rounding otherwise, and the same reward whatever the order."""
    total = sum(claims)
    rewards = [reward_for(c, total, budget) for c in claims]
    assert sum(rewards) <= budget
    assert all(0 <= r <= c for r, c in zip(rewards, claims, strict=True))
    if total <= budget:
        assert rewards == claims
    else:
        assert budget - sum(rewards) < len(claims)
    shuffled = list(claims)
    rnd.shuffle(shuffled)
    assert sorted(reward_for(c, total, budget) for c in shuffled) == sorted(rewards)


@given(st.integers(1, 10**6), st.integers(1, 10**6), st.integers(1, 10**6))
def test_a_larger_claim_never_gets_less(a: int, b: int, budget: int) -> None:
    """Pro rata is monotone: of two claims, the larger is paid at least as much."""
    total = a + b
    small, large = sorted((a, b))
    assert reward_for(small, total, budget) <= reward_for(large, total, budget)
