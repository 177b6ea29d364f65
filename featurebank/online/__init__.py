"""Redis online store access in Feast's layout: monotonic writers and the lookup reader."""
