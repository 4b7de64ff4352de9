"""Estimated arrival times for every remaining stop of every active route."""
