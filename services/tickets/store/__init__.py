"""Tickets' MongoDB documents ⇄ domain objects: the tickets, their files (GridFS) and the
companies' contact e-mails. Every read of a company's data names the company."""
