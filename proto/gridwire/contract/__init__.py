"""The contract between the ledger and its clients, one module per domain.

Each module holds what both sides must agree on for its domain: its error codes (an IntEnum
and the inclusive range they live in), its event type names and the attribute values clients
match on, one path builder per query root (`Paths`), and the state keys clients need to check a
proof. `abci_app/<domain>/` imports them (errors.py, events.py, queries.py and keys.py
re-export them), and every client builds its paths and matches its codes with them: nothing of
this is typed twice. `chain` holds the chain-level codes (envelope 1-19, queries 90-99) and
roots; `all` lists the domains in their registry order.
"""
