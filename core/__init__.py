"""Ground layer: errors, messages, settings, files, logs, failpoints and the clock. Imports nothing of the product."""
