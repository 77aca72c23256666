"""A real single-node Kubernetes for the test suite, built from source (test infrastructure only).

The product never imports this package. ``python -m tests.cluster build|up|down|status``;
README.md beside this file says what runs where.
"""
