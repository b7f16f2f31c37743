"""Notifications' rules, one module per area: the automation rules' condition language, the
webhook delivery schedule, the webhook address rules, the throttle of a rule's firings.
Pure and synchronous: no I/O, no clock reads, no name resolution (time and resolved
addresses come in as arguments)."""
