"""Rules for Celery projects (JL1xx)."""
