"""The PyQt6 desktop app (to come); it never imports torch."""
