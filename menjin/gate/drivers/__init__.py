"""Hardware at a gate, behind small interfaces: real (OSDP readers) and simulated drivers alike."""
