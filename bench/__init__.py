"""Benchmarks of Virtual Manager, run by `make bench` (`python -m bench`), never by `make test`.

One run starts everything it needs on loopback (a fresh SecantusDB, the whole system on
free ports with its own database and broker prefixes, small reference servers), measures,
prints a table, writes `bench/results/latest.json`, and stops what it started.

- `bench.web`: requests/s and latency at 32 keep-alive connections for a bare FastAPI
  endpoint, a FastAPI endpoint making one gRPC call, and `GET /api/v1/me` through the
  gateway and identity; the load comes from `bench.loadgen` (or `wrk` when installed) in
  a process of its own.
- `bench.identity`: through the gateway and identity, logins at the same concurrency
  (each connection its own user, the right password) beside the argon2id hash and verify
  times, `GET /api/v1/users` by a user whose permission comes from a custom role, and the
  number card and a page of numbers as a user whose role is scoped to a subtree.
- `bench.numbers`: `GET /api/v1/numbers` (plain and filtered by a subtree) and the number
  card with 1,000 and 10,000 numbers in the company, each beside the same MongoDB query
  sent directly with PyMongo, and `explain` of the list queries.
- `bench.events`: the outbox → RabbitMQ → consumer pipeline end to end, against the raw
  insert rate of the same database.
"""
