"""Hot path benchmark: reactions/s, update-to-next-meme latency and database time per meme.

Run with `.venv/bin/python -m benchmarks.hot_path --help`.
"""
