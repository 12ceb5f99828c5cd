"""surface-probe."""
