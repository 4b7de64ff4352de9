"""The dispatcher's app: the orders grid with filters, and the drivers and their status."""
