"""The gate controller: inputs → decide → door → outbox, deciding locally with or without the server."""
