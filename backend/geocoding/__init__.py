"""Turning a typed address into candidate coordinates through a configured geocoder."""
