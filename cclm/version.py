"""The library's version, read by setup.py and written into every component manifest."""

__version__ = "0.1.0"
