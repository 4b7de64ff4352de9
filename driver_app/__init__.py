"""The driver's app: today's stops in order, the next one first, and the shift switch."""
