"""Billing's rules, one module per area: money and the ledger, accounts, transfers,
promised payments, spending limits and usage. Pure and synchronous: no I/O, no clock
reads (the use cases pass the time in)."""
