"""Every differentiable op, one file per family, forward and backward side by side."""
