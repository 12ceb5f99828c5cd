"""paper-repro."""
