"""Test helpers shared across the suite: local services and throwaway Feast repos."""
