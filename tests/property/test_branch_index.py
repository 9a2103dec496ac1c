"""A branch's range scans (with the per-first-byte index kept in step as keys are written and
merged) always equal a scan of a plain dict model of the same writes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from abci_app.store.backend import MemoryBackend, prefix_end
from abci_app.store.branch import Branch

KEYS = st.binary(min_size=1, max_size=4).map(lambda b: bytes((b[0] % 4,)) + b[1:])
OPS = st.lists(
    st.tuples(st.sampled_from(["set", "delete", "scan", "tx"]), KEYS, st.binary(max_size=3)),
    min_size=1,
    max_size=400,
)


def _model_scan(model: dict[bytes, bytes | None], start: bytes, end: bytes | None) -> list[tuple[bytes, bytes]]:
    return sorted((k, v) for k, v in model.items() if v is not None and k >= start and (end is None or k < end))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(KEYS, st.binary(max_size=3)), max_size=50), OPS)
def test_branch_scans_match_a_dict_model(base: list[tuple[bytes, bytes]], ops: list[tuple[str, bytes, bytes]]) -> None:
    """Interleaved writes, deletes, merged tx branches and scans: every scan equals the model's."""
    backend = MemoryBackend()
    parent = Branch(backend)
    model: dict[bytes, bytes | None] = {}
    for k, v in base:
        parent.set(k, v)
        model[k] = v
    block = parent.branch()
    for i in range(0, 160, 2):  # enough writes that the block's scans use its index
        k = bytes((i % 4, i))
        block.set(k, b"f")
        model[k] = b"f"
    for op, key, value in ops:
        if op == "set":
            block.set(key, value)
            model[key] = value
        elif op == "delete":
            block.delete(key)
            model[key] = None
        elif op == "tx":  # a tx branch writing a few keys, merged into the block's branch
            tx = block.branch()
            for i in range(3):
                k = key + bytes((i,))
                tx.set(k, value)
                model[k] = value
            tx.merge_into(block)
        else:
            head = key[:1]
            for start, end in ((head, prefix_end(head)), (key, None), (key, prefix_end(head))):
                assert list(block.iter_range(start, end)) == _model_scan(model, start, end)
    for h in range(4):
        head = bytes((h,))
        assert list(block.iter_range(head, prefix_end(head))) == _model_scan(model, head, prefix_end(head))
