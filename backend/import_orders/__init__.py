"""``lastmile import orders FILE.csv``: a CSV of orders sent to a running server."""
