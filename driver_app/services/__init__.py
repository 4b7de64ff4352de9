"""Ports and adapters: the offline queue's SQLite file, the server, the phone's GPS."""
