"""Route optimisation: an immutable problem, two engines (PyVRP, OR-Tools), one interface."""
