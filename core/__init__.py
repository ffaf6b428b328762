"""Ground layer: errors, messages, settings, files, logs, progress, failpoints and the clock. Imports nothing of the product."""
