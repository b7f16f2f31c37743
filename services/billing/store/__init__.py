"""Billing's MongoDB documents ⇄ domain objects, one store per area. Every query on a
company's data names the company; the operator's own ledger accounts belong to none."""
