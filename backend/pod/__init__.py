"""Proof of delivery: photo validation, tamper evidence, storage (issue 7, in progress)."""
