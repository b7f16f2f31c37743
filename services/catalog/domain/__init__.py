"""Catalog's rules, one module per area: the hierarchy, the tariff and service catalogue,
numbers and what may be done to them. Pure and synchronous: no I/O, no clock reads."""
