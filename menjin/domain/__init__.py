"""The rules of menjin in pure Python: no I/O, no framework, nothing of ours but itself."""
