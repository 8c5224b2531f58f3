"""Rules for Temporal projects (JL4xx)."""
