"""Full-text search: language-aware analysis now; the index behind a small interface next."""
