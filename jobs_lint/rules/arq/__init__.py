"""Rules for ARQ projects (JL3xx)."""
