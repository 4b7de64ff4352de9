"""Pure functions: rows of the orders grid, filters, formatting for people."""
