"""The one place that talks to GitHub: env files, workflow commands, the REST API.

Nothing else in the core reads GITHUB_* variables; the entrypoint builds a GitHubContext
here and hands plain values to the rest.
"""
