"""What the two Flet apps have in common: signing in, observable state, wording, serving.

Imports ``shared`` and Flet; never ``backend``, never an app.
"""
