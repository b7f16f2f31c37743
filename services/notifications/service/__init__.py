"""Notifications' use cases: webhook endpoints, fan-out of events into deliveries, delivering."""
