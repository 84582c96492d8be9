"""Tools for app developers on a dev chain: a chain process and its client, a pytest plugin."""
