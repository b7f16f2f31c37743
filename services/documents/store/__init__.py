"""Documents' MongoDB documents ⇄ domain objects; every read a company's caller can
reach names the company."""
