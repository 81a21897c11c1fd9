"""The app layer: the CLI, the suite runner, reports and plots. Nothing below imports it."""
