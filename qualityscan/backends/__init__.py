"""Optional external services a detector can use when the user configures them.

Nothing here starts, installs or downloads a service: each backend talks to a server the user
already runs and points qualityscan at.
"""
