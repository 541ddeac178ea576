"""Effect-chain and prompt presets (to come)."""
