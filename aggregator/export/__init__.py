"""Exports that outlive the platforms and this server: the bundle (offline HTML archive, CSV, JSONL, Atom,
takedowns, BagIt manifest), the backup that import reads back, and the Atom feeds.

One streaming writer per format over the same approved-card query (Storage.approved_stream); nothing
holds the whole day in memory.
"""
