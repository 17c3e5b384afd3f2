"""Gate ↔ server link: message schemas, their codec, the MQTT transport and broker set-up."""
