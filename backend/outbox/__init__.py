"""What the outbox workers share (customer notifications, webhooks): claiming due rows
under a lease, the doubling backoff, and the wake-or-poll loop."""
