"""The web app: FastAPI + Jinja2 pages and a JSON API over the same functions as the command line.

Install with the ``web`` extra; start with ``adpharm serve`` (127.0.0.1:8000 by default).
"""
