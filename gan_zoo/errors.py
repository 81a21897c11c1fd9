"""Errors a user can fix. The CLI prints them as one line, never as a traceback."""


class UserError(Exception):
    """Bad input: the message names the problem and the fix."""


class Diverged(UserError):
    """Training produced NaN or inf; the last good checkpoint is kept."""
