"""The SQL adapter: one implementation, two dialects (SQLite, the embedded default, and PostgreSQL).

SQLAlchemy 2 Core tables with explicit mappers; the domain stays free of ORM classes.
"""
