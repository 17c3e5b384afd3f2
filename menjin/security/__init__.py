"""Cryptography with no storage of its own: keys from files, password hashing, the audit chain's MACs."""
