"""Shared helpers of dlvidx's Python tests: object formats, processes and crash detection, the
DAP client and adapters, the corpus, reliability records."""
