"""Catalog's MongoDB documents ⇄ domain objects, one store per area. Every query names the
company (the free pool of numbers belongs to the operator, not to a company)."""
