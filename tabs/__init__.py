"""One module per tab; each ``build()`` renders its tab inside the current Blocks. Adapters only."""
