"""rk-optim."""
