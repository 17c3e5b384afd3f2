"""Domain errors carry their reason in Chinese and English so every layer can show it as it is."""

from __future__ import annotations


class DomainError(ValueError):
    def __init__(self, field: str, zh: str, en: str) -> None:
        super().__init__(en)
        self.field = field
        self.zh = zh
        self.en = en

    def message(self, lang: str = "zh") -> str:
        return self.zh if lang == "zh" else self.en


class InvalidValue(DomainError):
    """A value that can never be right (bad plate, trivial PIN, window that ends before it starts)."""
