"""The domain library of ebookserver: records, files, ingest and extraction.

Nothing here imports Flask; every function takes plain values so that a script or a
test can use it without a web server.
"""
