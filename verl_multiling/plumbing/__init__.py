"""Shared plumbing, the lowest layer: stdlib-and-third-party helpers that import nothing else of the plugin.

- :mod:`.paths`: where the package data and the recipes live (wheel or checkout)
- :mod:`.resumable_jsonl`, :mod:`.output_files`: append-only, resumable JSONL outputs and output checks
- :mod:`.worker_pool`: killable worker processes with timeouts (math checks, custom task functions)
- :mod:`.process_cache`: one loaded model per process
- :mod:`.quiet`: hides verl's import-time noise in our CLIs
- :mod:`.offline_tokenizer`: the bundled Qwen tokenizer, loaded without the hub
"""
