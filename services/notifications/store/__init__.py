"""Webhook endpoints and deliveries in MongoDB; every company-facing query filtered by company."""
