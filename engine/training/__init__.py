"""Training-side code: the captioned corpus the built-in model learns from (and, later, the trainers)."""
