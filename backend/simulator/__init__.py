"""Fleet simulator: virtual drivers follow their routes on real streets and send GPS fixes.

``motion`` (true movement) and ``gps`` (what a phone reports) are pure; ``runner`` plays a
day on a simulated clock into a pluggable ``sinks.FixSink``; ``command`` builds plans from the
database for ``lastmile simulate``.
"""
