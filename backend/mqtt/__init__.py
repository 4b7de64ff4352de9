"""MQTT ingest: fixes published to a broker (Mosquitto) go through the location pipeline."""
