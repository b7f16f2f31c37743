"""Notifications: the company's webhook endpoints and their deliveries, automation rules and
their runs, each user's notification preferences (DESIGN.md, "Services and what each owns")."""
