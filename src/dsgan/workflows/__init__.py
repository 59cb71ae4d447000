"""Workflows that chain the library's steps: the pipeline, the demo, train-or-resume. The CLI
only parses arguments and calls these."""
