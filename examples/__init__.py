"""Examples that use authority from the outside, as its users would."""
