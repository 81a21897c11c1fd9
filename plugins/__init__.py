"""The built-in plugins. Each module is registered through its own entry point, like a third party's."""
