"""Trading load for tradestorm: Locust users, load profiles, the order journal,
client-side metrics, and the reconciliation of journals against the database.

Run it as plain Locust::

    locust -f loadtests/locustfile.py --headless --host http://127.0.0.1:8000 \
        --load-profile spike --rate 100 --target-users 50 --profile-duration 2m \
        --accounts-file .tradestorm/local/accounts.json

or through ``tradestorm load`` / :func:`loadtests.launcher.start_load`.
This package never imports the platform (``tradeplat``); it speaks its public
HTTP API only (docs/contracts.md §1.1).
"""
