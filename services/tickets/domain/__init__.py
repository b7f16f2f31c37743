"""Tickets' rules, one module per area: the status workflow, tickets (categories, response
times, history, who sees them) and attached files. Pure and synchronous: no I/O, no clock
reads."""
