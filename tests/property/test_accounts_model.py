"""Stateful property test: the app against a plain Python model of balances, nonces and votes."""

from __future__ import annotations

from dataclasses import dataclass, field

from google.protobuf.message import Message
from gridledger.accounts.v1 import accounts_pb2
from gridledger.governance.v1 import governance_pb2
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from abci_app.accounts.errors import AccountsCode
from abci_app.accounts.invariants import money_conserved
from abci_app.errors import Code
from abci_app.governance.errors import GovernanceCode
from abci_app.pb import abci
from clients.ops.consortium import demo_consortium
from clients.pki import Identity
from tests.support.driver import AppDriver
from tests.unit.helpers import account_nonce, balance, burn, mint, signed, submit, transfer, vote

CONSORTIUM = demo_consortium()
MEMBERS = sorted(CONSORTIUM.members)
ISSUERS = ["utility/treasury"]  # the only member whose org has the issuer capability
NON_ISSUERS = [ref for ref in MEMBERS if ref not in ISSUERS]
ORGS = sorted(CONSORTIUM.cas)
ADMINS = [f"{org}/admin" for org in ORGS]

member_st = st.sampled_from(MEMBERS)
amount_st = st.one_of(st.integers(1, 1_500_000), st.integers(1, 50))


@dataclass
class ModelProposal:
    yes: set[str] = field(default_factory=set)
    no: set[str] = field(default_factory=set)
    status: int = governance_pb2.PROPOSAL_STATUS_VOTING


class AccountsModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.driver = AppDriver(CONSORTIUM)
        self.driver.block([])
        self.balances = {ref: CONSORTIUM.balances.get(ref, 0) for ref in MEMBERS}
        self.minted = sum(self.balances.values())
        self.burned = 0
        self.nonces = dict.fromkeys(MEMBERS, 0)
        self.proposals: dict[int, ModelProposal] = {}

    def ident(self, ref: str) -> Identity:
        return CONSORTIUM.member(ref)

    def run_block(self, txs: list[tuple[str, list[Message], int]]) -> None:
        """Run (signer, messages, expected code) txs in one block; CheckTx and FinalizeBlock codes as the model says."""
        raws = []
        for ref, msgs, expected in txs:
            raw = signed(self.driver, self.ident(ref), *msgs)
            check = self.driver.app.check_tx(abci.RequestCheckTx(tx=raw, type=abci.NEW))
            assert check.code == expected, check.log
            raws.append(raw)
            self.nonces[ref] = self.driver.nonces[self.ident(ref).public_key]
        result = self.driver.block(raws, check=False)
        assert result.codes == tuple(expected for _r, _m, expected in txs), [r.log for r in result.tx_results]

    # -- accounts ---------------------------------------------------------------------------

    def _transfer_code(self, sender: str, recipient: str, amount: int) -> int:
        if amount > self.balances[sender]:
            return AccountsCode.INSUFFICIENT_FUNDS
        self.balances[sender] -= amount
        self.balances[recipient] += amount
        return 0

    @rule(sender=member_st, recipient=member_st, amount=amount_st)
    def transfer(self, sender: str, recipient: str, amount: int) -> None:
        code = self._transfer_code(sender, recipient, amount)
        self.run_block([(sender, [transfer(self.ident(recipient), amount)], code)])

    @rule(moves=st.lists(st.tuples(member_st, member_st, amount_st), min_size=2, max_size=5))
    def transfers_in_one_block(self, moves: list[tuple[str, str, int]]) -> None:
        txs = []
        for sender, recipient, amount in moves:
            code = self._transfer_code(sender, recipient, amount)
            txs.append((sender, [transfer(self.ident(recipient), amount)], code))
        self.run_block(txs)

    @rule(issuer=st.sampled_from(ISSUERS), recipient=member_st, amount=amount_st)
    def mint(self, issuer: str, recipient: str, amount: int) -> None:
        self.balances[recipient] += amount
        self.minted += amount
        self.run_block([(issuer, [mint(self.ident(recipient), amount)], 0)])

    @rule(issuer=st.sampled_from(ISSUERS), amount=amount_st)
    def burn(self, issuer: str, amount: int) -> None:
        code = 0
        if amount > self.balances[issuer]:
            code = AccountsCode.INSUFFICIENT_FUNDS
        else:
            self.balances[issuer] -= amount
            self.burned += amount
        self.run_block([(issuer, [burn(amount)], code)])

    @rule(signer=st.sampled_from(NON_ISSUERS), recipient=member_st, amount=amount_st)
    def mint_without_the_role(self, signer: str, recipient: str, amount: int) -> None:
        self.run_block([(signer, [mint(self.ident(recipient), amount)], Code.UNAUTHORIZED)])

    @rule(sender=member_st, recipient=member_st, amount=amount_st)
    def transfer_then_overdraw(self, sender: str, recipient: str, amount: int) -> None:
        """One tx of two transfers where the second overdraws: all or nothing."""
        if sender == recipient:
            return  # a transfer to oneself never overdraws
        have = self.balances[sender]
        first = min(amount, have)
        code = AccountsCode.INSUFFICIENT_FUNDS
        msgs = [transfer(self.ident(recipient), first), transfer(self.ident(recipient), have - first + 1)]
        if first == 0:
            msgs = msgs[1:]
        self.run_block([(sender, msgs, code)])

    # -- governance -------------------------------------------------------------------------

    @rule(admin=st.sampled_from(ADMINS), value=st.integers(16, 512))
    def propose(self, admin: str, value: int) -> None:
        if len(self.proposals) >= 3:
            return
        pid = len(self.proposals) + 1
        self.proposals[pid] = ModelProposal()
        action = governance_pb2.ChangeParam(name="max_memo_bytes", value=value)
        self.run_block([(admin, [submit(f"memo {value}", change_param=action)], 0)])

    @rule(admin=st.sampled_from(ADMINS), pid=st.integers(1, 4), approve=st.booleans())
    def vote(self, admin: str, pid: int, approve: bool) -> None:
        org = admin.split("/", maxsplit=1)[0]
        p = self.proposals.get(pid)
        code: int
        if p is None:
            code = GovernanceCode.UNKNOWN_PROPOSAL
        elif p.status != governance_pb2.PROPOSAL_STATUS_VOTING:
            code = GovernanceCode.PROPOSAL_CLOSED
        elif org in p.yes or org in p.no:
            code = GovernanceCode.ALREADY_VOTED
        else:
            code = 0
            (p.yes if approve else p.no).add(org)
            n = len(ORGS)
            if len(p.yes) * 3 > 2 * n:
                p.status = governance_pb2.PROPOSAL_STATUS_PASSED
            elif (n - len(p.no)) * 3 <= 2 * n:
                p.status = governance_pb2.PROPOSAL_STATUS_REJECTED
        self.run_block([(admin, [vote(pid, approve)], code)])

    # -- after every step -------------------------------------------------------------------

    @invariant()
    def balances_match(self) -> None:
        for ref in MEMBERS:
            assert balance(self.driver, self.ident(ref)) == self.balances[ref], ref
        supply = accounts_pb2.SupplyView.FromString(self.driver.query("/supply").value)
        assert (supply.minted, supply.burned) == (self.minted, self.burned)
        assert money_conserved(self.driver.app.state) is None

    @invariant()
    def nonces_match(self) -> None:
        for ref in MEMBERS:
            assert account_nonce(self.driver, self.ident(ref)) == self.nonces[ref], ref

    @invariant()
    def proposals_match(self) -> None:
        listed = governance_pb2.ProposalList.FromString(self.driver.query("/proposals").value)
        got = {p.id: (p.status, set(p.yes_orgs), set(p.no_orgs)) for p in listed.proposals}
        assert got == {pid: (p.status, p.yes, p.no) for pid, p in self.proposals.items()}

    @initialize()
    def start(self) -> None:
        assert self.driver.height == 1


AccountsModel.TestCase.settings = settings(
    max_examples=30,
    stateful_step_count=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestAccountsModel = AccountsModel.TestCase
TestAccountsModel.__doc__ = "The app's balances, supply, nonces and proposals equal the model's after every step."
