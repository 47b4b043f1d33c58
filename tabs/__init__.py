"""One package per tab (``tabs/<name>/``: ``build()`` renders it inside the current Blocks) and the modules they
share. Adapters only.
"""
