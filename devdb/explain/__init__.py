"""EXPLAIN ANALYZE reports over the project's named queries, and the CI gate on their plans.

queries (named .sql files) -> run (EXPLAIN ANALYZE, rolled back) -> plan (arithmetic) -> rules
(findings) -> render_* (terminal, Markdown, JSON, HTML) and baseline (normalized shape + buffers).
"""
